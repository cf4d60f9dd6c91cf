import { Buffer } from 'node:buffer';
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { DrupeError } from '../lib/errors.js';
import type { FetchInfo } from './fetch.js';
import { InjectIncoming } from './inject-incoming.js';
import { InjectOutgoing } from './inject-outgoing.js';
import type { InjectResult } from './inject-result.js';

/** A JSON value `app.inject` serialises as a request body. */
type JsonBody = { readonly [key: string]: unknown } | readonly unknown[];

/**
 * One request for `app.inject`. `url` is a path with its query
 * (`/items?page=2`) or an absolute URL (its host becomes the Host field,
 * `https:` makes `request.scheme` https). `body`: text or bytes as given;
 * URLSearchParams as a form (`application/x-www-form-urlencoded`); any
 * other object or array as JSON (`application/json`) — a Content-Type in
 * `headers` wins. Content-Length is set from the body unless `headers`
 * frame it. `signal` aborting is the client going away.
 */
export interface InjectOptions {
  readonly method?: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  readonly body?: string | Uint8Array | ArrayBuffer | URLSearchParams | JsonBody;
  /** The client's address (`request.remote.ip`); 127.0.0.1 unless given. */
  readonly remoteAddress?: string;
  readonly signal?: AbortSignal;
}

/**
 * `app.inject` and `tree.inject`: a request through the whole pipeline
 * (dispatch, tools, hooks, handler, body) with no socket.
 *
 * - `inject(options)` answers an `InjectResult`: status, headers, the body
 *   and its chunks as written, and whether it completed or was truncated.
 * - `inject(url | URL | Request, init?)` is the fetch-like form: a web
 *   `Response` (`app.fetch` with a path resolved against
 *   http://localhost), its streamed body pulled as it is read.
 */
export interface Inject {
  (options: InjectOptions): Promise<InjectResult>;
  (input: string | URL | globalThis.Request, init?: RequestInit): Promise<globalThis.Response>;
}

type Runner = (req: IncomingMessage, res: ServerResponse) => void;
type Fetcher = (request: globalThis.Request, info?: FetchInfo) => Promise<globalThis.Response>;

/** RFC 9110's token: what a method name is made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LOCAL: FetchInfo = { remoteAddress: '127.0.0.1', remotePort: 0 };

/** The `inject` of an app or a tree: `run` takes one exchange, `fetch` is its web handler. */
export function injector(run: Runner, fetch: Fetcher): Inject {
  return ((input: InjectOptions | string | URL | globalThis.Request, init?: RequestInit) => {
    if (typeof input === 'string' || input instanceof URL) {
      let request: globalThis.Request;
      try {
        request = new Request(new URL(input, 'http://localhost'), init);
      } catch (err) {
        return Promise.reject(err);
      }
      return fetch(request, LOCAL);
    }
    if (input instanceof Request) return fetch(init === undefined ? input : new Request(input, init), LOCAL);
    return injectOne(run, input);
  }) as Inject;
}

function injectOne(run: Runner, options: InjectOptions): Promise<InjectResult> {
  let incoming: InjectIncoming;
  try {
    incoming = incomingOf(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const signal = options.signal;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  const onAbort = (): void => outgoing.gone(signal!.reason);
  const outgoing = new InjectOutgoing(incoming, signal === undefined ? undefined : () => signal.removeEventListener('abort', onAbort));
  signal?.addEventListener('abort', onAbort);
  try {
    run(incoming as unknown as IncomingMessage, outgoing as unknown as ServerResponse);
  } catch (err) {
    // Nothing took the exchange (a tree with no app mounted).
    signal?.removeEventListener('abort', onAbort);
    return Promise.reject(err);
  }
  return outgoing.result;
}

function incomingOf(options: InjectOptions): InjectIncoming {
  if (options === null || typeof options !== 'object' || typeof options.url !== 'string') {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'inject: give { url } (a path such as \'/items?page=2\', or an absolute URL), or a URL string, URL or Request');
  }
  const method = options.method === undefined ? 'GET' : String(options.method).toUpperCase();
  if (!TOKEN.test(method)) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `inject: ${JSON.stringify(method)} is not a method name (an HTTP token such as 'POST')`);
  let url = options.url;
  let host = 'localhost';
  let encrypted = false;
  if (!url.startsWith('/') && url !== '*') {
    const parsed = new URL(url); // throws a TypeError naming the bad URL
    url = parsed.pathname + parsed.search;
    host = parsed.host;
    encrypted = parsed.protocol === 'https:';
  }
  const headers: IncomingHttpHeaders = {};
  const raw: string[] = [];
  let length: string | undefined;
  let chunked: string | undefined;
  let typed = false;
  let hasHost = false;
  const given = options.headers;
  if (given !== undefined) {
    for (const name of Object.keys(given)) {
      const value = given[name];
      if (value === undefined) continue;
      validateHeaderName(name);
      const lower = name.toLowerCase();
      if (lower === '__proto__') throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'inject: a header cannot be named __proto__');
      const values = typeof value === 'object' ? (value as readonly string[]) : [String(value)];
      for (const v of values) {
        validateHeaderValue(name, v);
        raw.push(name, v);
      }
      if (lower === 'content-length') length = values.join(', ');
      else if (lower === 'transfer-encoding') chunked = values.join(', ');
      else if (lower === 'content-type') typed = true;
      else if (lower === 'host') hasHost = true;
      // node's joining of repeated fields: cookies with '; ', set-cookie a list, the others with ', '.
      headers[lower] = lower === 'set-cookie' ? [...values] : values.join(lower === 'cookie' ? '; ' : ', ');
    }
  }
  if (!hasHost) {
    headers.host = host;
    raw.unshift('Host', host);
  }
  let body: Buffer | null = null;
  const b = options.body;
  if (b !== undefined && b !== null) {
    let type: string | undefined;
    if (typeof b === 'string') body = Buffer.from(b, 'utf8');
    else if (b instanceof Uint8Array) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    else if (b instanceof ArrayBuffer) body = Buffer.from(b);
    else if (b instanceof URLSearchParams) {
      body = Buffer.from(b.toString(), 'utf8');
      type = 'application/x-www-form-urlencoded';
    } else {
      body = Buffer.from(JSON.stringify(b), 'utf8');
      type = 'application/json';
    }
    if (type !== undefined && !typed) {
      headers['content-type'] = type;
      raw.push('Content-Type', type);
    }
    if (length === undefined && chunked === undefined) {
      headers['content-length'] = String(body.length);
      raw.push('Content-Length', String(body.length));
    }
    if (body.length === 0) body = null;
  }
  checkFraming(length, chunked, body?.length ?? 0);
  const socket = { remoteAddress: options.remoteAddress ?? '127.0.0.1', remotePort: 0, encrypted, bytesRead: 0 };
  return new InjectIncoming(method, url, headers, raw, body, socket);
}

/**
 * Framing given in `headers` must say what the body is: the body is in hand, so a length
 * that disagrees with it would be a request no socket could carry as written. Bytes-level
 * framing (a wrong length, smuggling) is a socket's to test.
 */
function checkFraming(length: string | undefined, chunked: string | undefined, size: number): void {
  const bad = (why: string): DrupeError => new DrupeError('DRUPE_ERR_CONFIG_VALUE', `inject: ${why}; leave the framing out and inject sets Content-Length from the body`);
  if (length !== undefined && chunked !== undefined) throw bad('both Content-Length and Transfer-Encoding given');
  if (length !== undefined && length !== String(size)) throw bad(`Content-Length ${JSON.stringify(length)} is not the body's ${size} bytes`);
  if (chunked !== undefined && chunked.toLowerCase() !== 'chunked') throw bad(`Transfer-Encoding ${JSON.stringify(chunked)} is not 'chunked' (the body is given decoded)`);
}
