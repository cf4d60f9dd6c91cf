import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { HTTPError, type RequestAbortedError } from '../lib/errors.js';
import { createParams, parseFormInto, stringifyParams, type Params } from './form.js';
import { removeTempFiles } from './multipart.js';
import { isFormBody, readFormBody } from './form-body.js';
import { bodyText } from './body-text.js';
import { asIs, readBodyAs, limitedBody, markChunkedBody, undecodedEncoding } from './body-reader.js';
import { mayNamePrototypeKey, parseJsonBody } from './json-body.js';
import { parseCookieHeader } from './cookies.js';
import { verifiedCookies } from './signed-cookies.js';
import { noSession, type Session } from './session.js';
import type { Response } from './response.js';
import type { RouteConfig, RouteSettings } from './route-settings.js';
import { appUrl } from './site-url.js';
import type { Declared, InputDeclaration } from './declared-input.js';
import {
  kSettings, kIsIndex, kPinRemote, kSetForwarded, kOwnParams, kAbort, kContinuePending, kProcessForm, kRedirectTo, kHasTempFiles, kCleanup, kHostField, kSetSession, kJsonWait, kParseJson, kJsonSettled, kJsonPlainKeys,
} from './request-keys.js';
import { JsonWait } from './json-wait.js';
import { SeldomState } from './request-seldom.js';
import { h2Stream, isH2 } from './h2-stream.js';

export type { Params, ParamValue } from './form.js';
export type { InputDeclaration } from './declared-input.js';

export {
  kSettings, kIsIndex, kPinRemote, kSetForwarded, kOwnParams, kAbort, kContinuePending, kProcessForm, kRedirectTo, kHasTempFiles, kCleanup, kHostField, kSetSession, kJsonWait,
} from './request-keys.js';

/** `request.config` before a route was found (a request whose target could not be parsed). */
const NO_CONFIG: Readonly<RouteConfig> = Object.freeze({});
const NO_BODY: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));

const HOST_OK = /^[A-Za-z0-9.\-_~[\]:]+$/;

/**
 * The request a handler sees. Headers, path and query are ready at once;
 * the body is read on demand (`text()`, `json()`, `bytes()`), except form
 * bodies, which fill `params` before the handler runs.
 */
export class Request {
  /** The raw node request, for what Drupe does not wrap. */
  readonly raw: IncomingMessage;
  #idPrefix: string;
  #idNumber: number;
  #id: string | undefined;
  method: string;
  /** The path below the app's mount point (CherryPy's `path_info`), still percent-encoded as sent (an encoded '/' stays '%2F'). */
  path: string;
  /** Where the app is mounted (`Tree`): '' at the root, else '/blog'; the client sent `scriptName + path`. */
  readonly scriptName: string;
  /** The query string without '?', percent-encoded. */
  queryString: string;
  /** The declared Content-Length, Transfer-Encoding and Expect, read from the raw header list in the constructor. */
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  readonly #expect: string | undefined;
  /** The user `tools.auth_basic` let in (CherryPy's `request.login`). */
  login: string | undefined = undefined;
  /** The handler dispatch chose; a tool may set it to null when it answered the request itself. */
  handler: Handler | null = null;
  [kIsIndex]: boolean | null = null;
  /** Set by kParseJson: the parsed text names neither `__proto__` nor `constructor`, even escaped. */
  [kJsonPlainKeys] = false;
  [kSettings]!: RouteSettings;
  /** The Host field, found with the framing headers: undefined when none was sent, null when more than one (checked by `hostFieldError`). */
  readonly [kHostField]: string | null | undefined;
  #res: ServerResponse;
  /** Over HTTP/2 (node's compatibility API): `:authority` is the host, the signal watches the stream. */
  readonly #h2: boolean;
  #fallbackHost: string;
  #remote: { readonly ip: string; readonly port: number } | undefined;
  #ip: string | undefined;
  /** json()'s promise; the pipeline's JsonWait until json() is called (its promise made only then). */
  #json: Promise<unknown> | JsonWait | undefined;
  #query: Params | undefined;
  #params: Params | undefined;
  #cookies: Record<string, string> | undefined;
  #body: Promise<Buffer> | undefined;
  /** The bytes json() read itself, for bytes() and text() after it. */
  #bytes: Buffer | undefined;
  /** The request's framing announces a body (worked out once: the pipeline asks several times). */
  readonly #framedBody: boolean;
  #bodyTaken = false;
  /** Made on its first write (request-seldom.ts). */
  #seldom: SeldomState | undefined;

  /** `h2`: the request came over HTTP/2 (`isH2`, h2-stream.ts), decided by the caller. */
  constructor(req: IncomingMessage, res: ServerResponse, idPrefix: string, idNumber: number, path: string, query: string, fallbackHost: string, scriptName: string, h2 = isH2(req)) {
    this.raw = req;
    this.#res = res;
    this.#idPrefix = idPrefix;
    this.#idNumber = idNumber;
    this.method = req.method ?? 'GET';
    this.path = path;
    this.scriptName = scriptName;
    this.queryString = query;
    this.#h2 = h2;
    this.#fallbackHost = fallbackHost;
    // node builds req.headers on first use: the framing headers every request needs come from the raw list.
    const raw = req.rawHeaders;
    let host: string | null | undefined;
    let authority: string | undefined;
    // Names as clients write them are compared first: toLowerCase makes a string for every name with a capital.
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const n = name.length;
      if (n === 14 && (name === 'Content-Length' || name === 'content-length' || name.toLowerCase() === 'content-length')) this.contentLength = raw[i + 1];
      else if (n === 17 && (name === 'Transfer-Encoding' || name.toLowerCase() === 'transfer-encoding')) this.transferEncoding = this.transferEncoding === undefined ? raw[i + 1] : `${this.transferEncoding}, ${raw[i + 1]}`;
      else if (n === 6 && (name === 'Expect' || name.toLowerCase() === 'expect')) this.#expect = raw[i + 1];
      else if (n === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) host = host === undefined ? raw[i + 1] : null;
      else if (n === 10 && name === ':authority') authority = raw[i + 1]; // h2: it stands for Host (RFC 9113 §8.3.1)
    }
    this[kHostField] = authority ?? host;
    if (this.transferEncoding !== undefined) markChunkedBody(req); // its framing counts from here (HOSTILE 27)
    const len = this.contentLength;
    // h2 frames a body without Content-Length: the HEADERS frame's END_STREAM says there is none.
    this.#framedBody = (len !== undefined && len !== '0') || this.transferEncoding !== undefined || (h2 && len === undefined && !h2Stream(res).endAfterHeaders);
  }

  /** The request target as sent (origin-form or absolute-form); this and `protocol` are read from `raw`, not kept in fields. */
  get target(): string {
    return this.raw.url ?? '/';
  }

  get protocol(): 'HTTP/1.1' | 'HTTP/1.0' | 'HTTP/2.0' { return this.#h2 ? 'HTTP/2.0' : this.raw.httpVersionMinor === 0 && this.raw.httpVersionMajor === 1 ? 'HTTP/1.0' : 'HTTP/1.1'; }

  /** A per-process unique id, also in the access and error logs. */
  get id(): string {
    return (this.#id ??= `${this.#idPrefix}-${this.#idNumber.toString(36)}`);
  }

  /** Header names are lower-case. */
  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }

  /** Keep the client's address now (a socket forgets its peer once closed; the access line needs it). */
  [kPinRemote](): void {
    this.#ip ??= this.raw.socket.remoteAddress ?? '';
  }

  /** 'https' on a TLS socket (or as a trusted proxy reports it, with `tools.proxy`). */
  get scheme(): 'http' | 'https' {
    return (this.#seldom?.scheme ?? (this.#more().scheme = (this.raw.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'));
  }

  /** The Host header (or the server's address when it is missing or malformed; or a trusted proxy's X-Forwarded-Host). */
  get host(): string {
    const known = this.#seldom?.host;
    if (known !== undefined) return known;
    const host = this.#h2 ? this[kHostField] : this.headers.host;
    return (this.#more().host = typeof host === 'string' && HOST_OK.test(host) ? host : this.#fallbackHost);
  }

  /** `scheme://host` as the client addressed this site (the Host header's port; with `tools.proxy`, what a trusted proxy reports). CherryPy's `request.base`. */
  get base(): string {
    return `${this.scheme}://${this.host}`;
  }

  /**
   * An absolute URL on this site, as CherryPy's `cherrypy.url()` builds it (site-url.ts, `appUrl`): '' is the current
   * path, '/x' is the app's own (under `scriptName`), a relative path resolves as a browser would; `query` is appended.
   */
  url(path = '', query: string | Readonly<Record<string, string | readonly string[]>> = ''): string {
    const qs = typeof query === 'string' ? (query.startsWith('?') ? query.slice(1) : query) : stringifyParams(query);
    return appUrl(this.base, this.scriptName, this.path, this[kIsIndex], path, qs);
  }

  /** The route's merged config, read-only (CherryPy's `request.config`). */
  get config(): Readonly<RouteConfig> {
    return this[kSettings]?.config ?? NO_CONFIG;
  }

  /** The client's address (behind a trusted proxy, with `tools.proxy`, the one it reports). */
  get remote(): { readonly ip: string; readonly port: number } {
    return (this.#remote ??= { ip: this.#ip ?? this.raw.socket.remoteAddress ?? '', port: this.raw.socket.remotePort ?? 0 });
  }

  /** What a trusted proxy says about the client and the request's id (tools.proxy). A host that is not a valid Host value is ignored. */
  [kSetForwarded](from: { scheme?: 'http' | 'https'; host?: string; ip?: string; id?: string }): void {
    if (from.id !== undefined) this.#id = from.id;
    if (from.scheme !== undefined) this.#more().scheme = from.scheme;
    if (from.host !== undefined && HOST_OK.test(from.host)) this.#more().host = from.host;
    if (from.ip !== undefined) this.#remote = { ip: from.ip, port: 0 };
  }

  /** The query's parameters (repeated keys as arrays; no prototype). */
  get query(): Params {
    if (this.#query === undefined) {
      const query = createParams();
      if (this.queryString !== '') parseFormInto(query, this.queryString, { maxParams: this[kSettings].maxParams }, 'query string');
      this.#query = query;
    }
    return this.#query;
  }

  /** Query and form-body parameters together (repeated keys as arrays; no prototype). */
  get params(): Params {
    // The query's own object until something adds to it (a form body, _cp_dispatch, tools.json_in):
    // most requests then build one parameter object, not two.
    return (this.#params ??= this.query);
  }

  /** `params` to add to, no longer shared with `query`. */
  [kOwnParams](): Params {
    const params = this.params;
    if (params === this.#query) this.#params = Object.assign(createParams(), params);
    return this.#params!;
  }

  /** Cookies the client sent, by name (no prototype). */
  get cookies(): Readonly<Record<string, string>> {
    return (this.#cookies ??= parseCookieHeader(this.headers.cookie));
  }

  /** Cookies whose signature verifies under `server.secret_keys`, values without it; a tampered or unsigned one is absent. */
  get signedCookies(): Readonly<Record<string, string>> {
    return (this.#seldom?.signedCookies ?? (this.#more().signedCookies = verifiedCookies(this[kSettings]?.secretKeys ?? [], this.cookies)));
  }

  /** The client's session (`tools.sessions`, docs/sessions.md); reading it where the tool is off throws a clear error. */
  get session(): Session {
    return this.#seldom?.session ?? noSession();
  }

  [kSetSession](session: Session | undefined): void { this.#more().session = session; }

  #more(): SeldomState {
    return (this.#seldom ??= new SeldomState());
  }

  /** Aborts when the client goes away (`reason.code` 'DRUPE_CLIENT_CLOSED') or the server shuts down ('DRUPE_SERVER_CLOSING'):
   * pass it to fetch, timers and database calls so they stop working for nobody. */
  get signal(): AbortSignal {
    return this.#more().signal(this.#res, this.#h2);
  }

  /** Abort the signal (the writer calls it on disconnect, the server on shutdown). */
  [kAbort](reason: RequestAbortedError): void {
    this.#more().abortWith(reason);
  }

  get aborted(): boolean { return this.#seldom?.closedReason !== undefined; }

  /** The `Last-Event-ID` an EventSource sends when it reconnects, for `sse()` handlers. */
  get lastEventId(): string | undefined {
    const v = this.headers['last-event-id'];
    return typeof v === 'string' ? v : undefined;
  }

  /** True when the request has a body (declared or chunked); false after an InternalRedirect dropped it. */
  get hasBody(): boolean {
    return this.#framedBody && this.#seldom?.bodyDropped !== true;
  }

  /** True when the body was read (or being read) by someone. */
  get bodyTaken(): boolean { return this.#bodyTaken; }

  /** Whether a `100 Continue` is still owed to a client that asked for one. */
  get [kContinuePending](): boolean {
    return this.#expect !== undefined && this.#seldom?.continueSent !== true && /^100-continue$/i.test(this.#expect);
  }

  #takeBody(): void {
    this.#bodyTaken = true;
    if (this[kContinuePending]) {
      this.#more().continueSent = true;
      this.#res.writeContinue();
    }
  }

  /** The raw body, read once, at most `server.max_request_body_size` bytes (413 past that); a body in a Content-Encoding
   * other than identity is a 415 (Drupe does not decode request bodies), from every body reader. */
  bytes(): Promise<Buffer> {
    // After json() read the body itself: the bytes it read (valid JSON or not), or its read's failure.
    if (this.#body === undefined && this.#json !== undefined) this.#body = this.json().then(() => this.#bytes!, (err: unknown) => this.#bytes ?? Promise.reject(err));
    return (this.#body ??= this.#read(asIs));
  }

  /** Read the body once, `finish` run on its bytes as they are complete (a 415 first for an encoded body). */
  #read<T>(finish: (buf: Buffer) => T): Promise<T> {
    const refused = this.hasBody ? undecodedEncoding(this.headers['content-encoding']) : undefined;
    if (refused !== undefined) return Promise.reject(refused);
    this.#takeBody();
    return readBodyAs(this.raw, this[kSettings].maxBodySize, this.transferEncoding !== undefined, true, finish);
  }

  /** The body decoded by the charset of its Content-Type (UTF-8 by default). */
  text(): Promise<string> {
    return this.bytes().then((buf) => bodyText(buf, this.headers['content-type']));
  }

  /**
   * The body parsed as JSON (once; later calls give the same value);
   * invalid JSON, or JSON nested deeper than `request.max_json_depth`, is a 400.
   */
  json(): Promise<unknown> {
    // Read, decoded and parsed as the last chunk arrives: no promise between the socket and the caller.
    const json = this.#json instanceof JsonWait ? this.#json.result() : this.#json;
    return (this.#json = json ?? (this.#body !== undefined ? this.#body.then((buf) => this[kParseJson](buf)) : this.#read((buf) => this[kParseJson](buf))));
  }

  /** `json()` for the pipeline's declared body: the same read and parse, as a Wait drive resumes from (json-wait.ts). */
  [kJsonWait](): JsonWait | Promise<unknown> {
    if (this.#json !== undefined || this.#body !== undefined || !this.hasBody) return this.json();
    const refused = undecodedEncoding(this.headers['content-encoding']);
    if (refused !== undefined) return Promise.reject(refused);
    this.#takeBody();
    return new JsonWait(this, this[kSettings].maxBodySize, this.transferEncoding !== undefined);
  }

  /** The body's bytes parsed as JSON (kept: bytes() and text() after json() give them). */
  [kParseJson](buf: Buffer): unknown {
    const text = bodyText((this.#bytes = buf), this.headers['content-type']);
    const value = parseJsonBody(text, this[kSettings].maxJsonDepth);
    this[kJsonPlainKeys] = !mayNamePrototypeKey(text);
    return value;
  }

  [kJsonSettled](json: JsonWait): void { this.#json = json; }

  /** The body as a stream (limited like `bytes()`), for uploads too big to hold. */
  stream(): Readable {
    if (this.#seldom?.bodyDropped === true) return Readable.from([]);
    if (this.#bodyTaken) throw new HTTPError(500, 'The request body was already read');
    const refused = this.hasBody ? undecodedEncoding(this.headers['content-encoding']) : undefined;
    if (refused !== undefined) throw refused;
    this.#takeBody();
    return limitedBody(this.raw, this[kSettings].maxBodySize, this.transferEncoding !== undefined);
  }

  /** Read a form body into `params` before the handler runs, as CherryPy does (form-body.ts); nothing to wait for with another body. */
  [kProcessForm](): Promise<void> | undefined {
    if (!this.hasBody || this.#bodyTaken || !isFormBody(this.headers['content-type'])) return undefined;
    return readFormBody(this, () => this[kOwnParams](), this[kSettings], () => (this.#more().tempFiles ??= []));
  }

  /**
   * Re-point the request for an InternalRedirect: its params become those
   * of the new query. `dropBody` (a POST turned GET): the body is gone
   * too, for the handler — what the client sent is still settled after
   * the response (unread-body.ts), as `hasBody` no longer says.
   */
  [kRedirectTo](path: string, query: string, dropBody: boolean): void {
    this.path = path;
    this.queryString = query;
    this.#query = undefined;
    this.#params = undefined;
    if (dropBody) {
      this.#more().bodyDropped = true;
      this.#body = NO_BODY;
      this.#json = undefined;
    }
  }

  /** Whether uploads left temp files to delete. */
  get [kHasTempFiles](): boolean {
    const files = this.#seldom?.tempFiles;
    return files !== undefined && files.length > 0;
  }

  /** Clean up what the request left behind (temp files). */
  async [kCleanup](): Promise<void> {
    const files = this.#seldom?.tempFiles;
    if (files !== undefined && files.length > 0) await removeTempFiles(files.splice(0));
  }
}

/**
 * What every handler, hook and tool receives. `D` is a handler's
 * declaration: with `{ params: schema }` the handler's `params` are the
 * schema's output (likewise `args`, and `body` for the JSON body); without
 * one they are the request's strings (and `body` is undefined).
 *
 * @example
 *   @expose() greet({ params, response }: Context) {
 *     response.headers.set('Content-Type', 'text/plain');
 *     return `Hello ${params.name ?? 'world'}`;
 *   }
 *   const page = exposed(({ params }) => `page ${params.n + 1}`, { params: z.object({ n: z.coerce.number() }) });
 */
export interface Context<D extends InputDeclaration = {}> {
  readonly request: Request;
  readonly response: Response;
  /** Query and form parameters (the same object as `request.params`), or their validated value when declared. */
  readonly params: Declared<D, 'params', Params>;
  /** Path segments left over for a `default` handler (or a MethodDispatcher resource), or their validated value when declared. */
  readonly args: Declared<D, 'args', readonly string[]>;
  /** The declared JSON body, validated (undefined when the handler declares no `body`). */
  readonly body: Declared<D, 'body', unknown>;
}

/** A page handler: gets the request's context, returns a body (or a promise of one). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (this: any, ctx: Context) => unknown;
