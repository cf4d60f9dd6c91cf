import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { DrupeError } from '../lib/errors.js';
import type { RouteSettings, StreamCommit } from '../http/route-settings.js';
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_LIMIT } from '../http/json-body.js';
import type { Dispatcher } from './dispatcher.js';
import { HOOK_POINTS, type HookEntry } from './hook-points.js';
import { ERROR_FORMATS, type ErrorFormat, type ProblemDetails, type ProblemFieldError } from './problem.js';
import { isAsciiFieldValue } from '../http/headers.js';
import { MIN_SECRET_KEY_BYTES } from '../http/signed-cookies.js';
import { findTool, prepareTool, splitToolKey, toolOptions, toolOptionsIn } from './tool.js';

export type Environment = 'development' | 'production' | 'test';

/** What an `error_page.<code>` function receives. */
export interface ErrorPageInfo {
  /** The form the client gets unless the function decides otherwise: 'html', or 'problem' (RFC 9457 JSON; see docs/errors.md). */
  format: 'html' | 'problem';
  status: number;
  reason: string;
  /** The error's message; for an unexpected error with tracebacks off, a fixed sentence that says nothing about the code. */
  message: string;
  /** The stack, or '' unless `request.show_tracebacks` is on. */
  traceback: string;
  /** The path the client asked for: a mounted app's script name, then its path. */
  path: string;
  /** What was wrong with the input, when the error carries such a list (`ValidationError`), else undefined. */
  errors: readonly ProblemFieldError[] | undefined;
}
/**
 * A file path (its text is the HTML page) or a function returning the page:
 * a string is sent as HTML, an object as `application/problem+json`.
 */
export type ErrorPage = string | ((info: ErrorPageInfo) => string | ProblemDetails);

export type { RouteSettings, StreamCommit } from '../http/route-settings.js';

// `request.config` is typed in http/, below this layer: the config keys are merged into it here.
declare module '../http/route-settings.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-interface
  interface RouteConfig extends Config {}
}

/**
 * Configuration, with CherryPy's dotted keys. Any level of the tree takes the
 * same object: the global one given to `serve`, an App's path sections, a
 * class's `_cp_config`, a handler's `@expose(config)`.
 */
export interface Config {
  environment?: Environment;
  'server.socket_host'?: string;
  'server.socket_port'?: number;
  'server.max_request_body_size'?: number;
  'server.max_header_size'?: number;
  'server.socket_timeout'?: number;
  'server.headers_timeout'?: number;
  'server.request_timeout'?: number;
  'server.keep_alive_timeout'?: number;
  'server.shutdown_timeout'?: number;
  /** Worker mode: this many processes on node:cluster share the port ('auto': one per core). */
  'server.workers'?: number | 'auto';
  /** TLS: the PEM certificate file (CherryPy's key); with `server.ssl_private_key`, the server speaks https. */
  'server.ssl_certificate'?: string;
  /** TLS: the PEM private key file for `server.ssl_certificate`. */
  'server.ssl_private_key'?: string;
  /** TLS: a PEM file of intermediate certificates sent after the certificate. */
  'server.ssl_certificate_chain'?: string;
  /** HTTP/2: with TLS, h2 and http/1.1 on one port (ALPN); without, cleartext h2 only (prior knowledge, behind a proxy). */
  'server.http2'?: boolean;
  /** HTTP/2: streams one connection may have open at once (100 unless set). */
  'server.http2_max_concurrent_streams'?: number;
  /** Keys for signed cookies (HMAC-SHA256), each at least 32 bytes: the first signs, every one verifies, so keys rotate. */
  'server.secret_keys'?: readonly string[];
  'request.show_tracebacks'?: boolean;
  /** Error responses as HTML pages or RFC 9457 problem+json: 'auto' (the default) chooses by `Accept`. */
  'request.error_format'?: ErrorFormat;
  'request.process_request_body'?: boolean;
  'request.max_params'?: number;
  'request.max_parts'?: number;
  /** How deep a JSON request body may nest, objects and arrays together (100 unless set, at most 1000); deeper is a 400. */
  'request.max_json_depth'?: number;
  'request.max_file_size'?: number;
  'request.spool_threshold'?: number;
  'request.dispatch'?: Dispatcher;
  'response.stream'?: boolean;
  'response.max_buffered_size'?: number;
  'response.stream_commit'?: StreamCommit;
  /** `X-Content-Type-Options: nosniff` on streamed responses (default true), so a browser renders each chunk as it comes instead of holding ~1 KiB to sniff the type. A handler's own header wins. */
  'response.stream_nosniff'?: boolean;
  /** What a failed stream writes as its last chunk before the cut (see `response.onStreamError`). */
  'response.on_stream_error'?: (err: unknown) => string | Uint8Array | undefined;
  /** The `Server` header of every response ('Drupe' unless set); '' sends none. A response's own `Server` header wins. */
  'response.headers.server'?: string;
  'log.screen'?: boolean;
  'log.access_file'?: string;
  'log.error_file'?: string;
  /** 'combined' (Apache's, the default) or 'json': one object per line, as pino writes them. */
  'log.format'?: 'combined' | 'json';
  /** A response header carrying the request's id (`X-Request-Id`); '' or false (the default): none. */
  'request.id_header'?: string | false;
  /** The largest WebSocket message accepted, in bytes (1 MiB unless set); a larger one closes the socket with 1009. */
  'websocket.max_message_size'?: number;
  /** Seconds between pings to each WebSocket peer (30 unless set; 0: none); a peer silent for a whole period is cut. */
  'websocket.heartbeat'?: number;
  /** The origins a browser may open a WebSocket from (`https://example.com`); unset: any. */
  'websocket.origins'?: readonly string[];
  /** The subprotocols an endpoint speaks: the first the client offers from this list is agreed; unset: none. */
  'websocket.protocols'?: readonly string[];
  [key: `error_page.${string}`]: ErrorPage | undefined;
  [key: `hooks.${string}`]: HookEntry | readonly HookEntry[] | undefined;
  [key: `tools.${string}`]: unknown;
}

type Check = (v: unknown) => boolean;
const isBool: Check = (v) => typeof v === 'boolean';
const isString: Check = (v) => typeof v === 'string';
const isSize: Check = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isSeconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStringList: Check = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isPort: Check = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;

const KNOWN: Record<string, { check: Check; expects: string; globalOnly?: boolean }> = {
  environment: { check: (v) => v === 'development' || v === 'production' || v === 'test', expects: "'development', 'production' or 'test'", globalOnly: true },
  'server.socket_host': { check: isString, expects: 'a host name or address', globalOnly: true },
  'server.socket_port': { check: isPort, expects: 'a port number 0-65535', globalOnly: true },
  'server.max_request_body_size': { check: isSize, expects: 'a byte count' },
  'server.max_header_size': { check: isSize, expects: 'a byte count', globalOnly: true },
  'server.socket_timeout': { check: isSeconds, expects: 'seconds', globalOnly: true },
  'server.headers_timeout': { check: isSeconds, expects: 'seconds', globalOnly: true },
  'server.request_timeout': { check: isSeconds, expects: 'seconds', globalOnly: true },
  'server.keep_alive_timeout': { check: isSeconds, expects: 'seconds', globalOnly: true },
  'server.shutdown_timeout': { check: isSeconds, expects: 'seconds', globalOnly: true },
  'server.workers': { check: (v) => v === 'auto' || (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1024), expects: "a number of processes from 1 to 1024, or 'auto'", globalOnly: true },
  'server.ssl_certificate': { check: isString, expects: 'a file path', globalOnly: true },
  'server.ssl_private_key': { check: isString, expects: 'a file path', globalOnly: true },
  'server.ssl_certificate_chain': { check: isString, expects: 'a file path', globalOnly: true },
  'server.http2': { check: isBool, expects: 'a boolean', globalOnly: true },
  'server.http2_max_concurrent_streams': { check: (v) => isSize(v) && (v as number) >= 1 && (v as number) <= 0xffffffff, expects: 'a count from 1 to 4294967295', globalOnly: true },
  'server.secret_keys': {
    check: (v) => isStringList(v) && (v as string[]).every((k) => Buffer.byteLength(k) >= MIN_SECRET_KEY_BYTES),
    expects: `a list of keys of at least ${MIN_SECRET_KEY_BYTES} bytes each (e.g. from \`openssl rand -base64 48\`)`, globalOnly: true,
  },
  'request.show_tracebacks': { check: isBool, expects: 'a boolean' },
  'request.error_format': { check: (v) => (ERROR_FORMATS as readonly unknown[]).includes(v), expects: "'auto', 'html' or 'problem'" },
  'request.process_request_body': { check: isBool, expects: 'a boolean' },
  'request.max_params': { check: isSize, expects: 'a count' },
  'request.max_parts': { check: isSize, expects: 'a count' },
  'request.max_json_depth': { check: (v) => isSize(v) && (v as number) >= 1 && (v as number) <= MAX_JSON_DEPTH_LIMIT, expects: `a count from 1 to ${MAX_JSON_DEPTH_LIMIT}` },
  'request.max_file_size': { check: isSize, expects: 'a byte count' },
  'request.spool_threshold': { check: isSize, expects: 'a byte count' },
  'request.dispatch': { check: (v) => typeof v === 'object' && v !== null && typeof (v as Dispatcher).find === 'function', expects: 'a Dispatcher' },
  'response.stream': { check: isBool, expects: 'a boolean' },
  'response.max_buffered_size': { check: isSize, expects: 'a byte count' },
  'response.stream_commit': { check: (v) => v === 'first-chunk' || v === 'immediately' || isSeconds(v), expects: "'first-chunk', 'immediately' or a number of milliseconds" },
  'response.stream_nosniff': { check: isBool, expects: 'a boolean' },
  'response.on_stream_error': { check: (v) => typeof v === 'function', expects: 'a function' },
  'response.headers.server': { check: (v) => typeof v === 'string' && isAsciiFieldValue(v), expects: "a header value of printable ASCII ('' for no Server header)" },
  'log.screen': { check: isBool, expects: 'a boolean', globalOnly: true },
  'log.access_file': { check: isString, expects: 'a file path', globalOnly: true },
  'log.error_file': { check: isString, expects: 'a file path', globalOnly: true },
  'log.format': { check: (v) => v === 'combined' || v === 'json', expects: "'combined' or 'json'", globalOnly: true },
  'websocket.max_message_size': { check: (v) => isSize(v) && (v as number) >= 1, expects: 'a byte count of at least 1' },
  'websocket.heartbeat': { check: isSeconds, expects: 'seconds (0 for none)' },
  'websocket.origins': { check: isStringList, expects: 'a list of origins' },
  'websocket.protocols': { check: isStringList, expects: 'a list of subprotocol names' },
  'request.id_header': { check: (v) => v === false || (typeof v === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/.test(v)), expects: "a header name ('' or false for none)", globalOnly: true },
};

const NAMESPACES = new Set(['server', 'request', 'response', 'log', 'error_page', 'hooks', 'tools', 'websocket']);

function fail(key: string, where: string, why: string): never {
  throw new DrupeError('DRUPE_ERR_CONFIG_KEY', `Config key '${key}' in ${where}: ${why}`);
}

/** The known key nearest to a misspelling, for the error message. */
function suggest(key: string): string {
  let best = '';
  let bestScore = Infinity;
  for (const known of Object.keys(KNOWN)) {
    const d = distance(key, known);
    if (d < bestScore) { bestScore = d; best = known; }
  }
  return bestScore <= 3 ? ` (did you mean '${best}'?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Check every key of one config object, at start-up. `where` names the
 * object in the message ("global config", "section '/blog'", …).
 */
export function validateConfig(config: Readonly<Record<string, unknown>>, where: string, scope: 'global' | 'local'): void {
  if (typeof config !== 'object' || config === null) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `${where} must be an object of dotted keys`);
  }
  for (const key of Object.keys(config)) {
    const value = config[key];
    const known = KNOWN[key];
    if (known !== undefined) {
      if (known.globalOnly && scope !== 'global') fail(key, where, 'this key is server-wide: set it in the global config given to serve()');
      if (!known.check(value)) {
        throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: expected ${known.expects}, got ${describe(value)}`);
      }
      continue;
    }
    const dot = key.indexOf('.');
    const ns = dot < 0 ? key : key.slice(0, dot);
    if (!NAMESPACES.has(ns)) fail(key, where, `unknown namespace '${ns}'${suggest(key)}`);
    const rest = key.slice(dot + 1);
    if (ns === 'error_page') checkErrorPage(key, rest, value, where);
    else if (ns === 'hooks') checkHook(key, rest, value, where);
    else if (ns === 'tools') checkToolKey(key, value, where);
    else if (key.startsWith('response.headers.')) fail(key, where, "only 'response.headers.server' is a config key; set other headers with tools.response_headers");
    else fail(key, where, `unknown key${suggest(key)}`);
  }
  checkToolOptions(config, where);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

function checkErrorPage(key: string, code: string, value: unknown, where: string): void {
  if (code !== 'default' && !/^[45]\d\d$/.test(code)) fail(key, where, "expected error_page.<4xx or 5xx code> or error_page.default");
  if (typeof value !== 'string' && typeof value !== 'function') {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: expected a file path or a function, got ${describe(value)}`);
  }
  // A page file that is not there would turn every such error into a bare 500: refuse it now.
  if (typeof value === 'string' && !isReadableFile(value)) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: the error page file ${JSON.stringify(value)} does not exist or is not a readable file (a relative path is read from ${process.cwd()})`);
  }
}

function isReadableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function checkHook(key: string, point: string, value: unknown, where: string): void {
  if (!(HOOK_POINTS as readonly string[]).includes(point)) fail(key, where, `unknown hook point '${point}' (one of ${HOOK_POINTS.join(', ')})`);
  const entries = Array.isArray(value) ? value : [value];
  for (const e of entries) {
    const ok = typeof e === 'function' || (typeof e === 'object' && e !== null && typeof (e as { run?: unknown }).run === 'function');
    if (!ok) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: expected a function or { run, priority?, failsafe? }, got ${describe(e)}`);
  }
}

function checkToolKey(key: string, value: unknown, where: string): void {
  const split = splitToolKey(key);
  if (split === null) fail(key, where, "expected tools.<name>.<option>, e.g. 'tools.gzip.on'");
  const { name, option } = split;
  const tool = findTool(name);
  if (tool === undefined) fail(key, where, `no tool named '${name}'`);
  if (option === 'on') {
    if (typeof value !== 'boolean') throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: expected a boolean, got ${describe(value)}`);
    return;
  }
  const defaults = tool.defaults as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(defaults, option)) {
    const opts = Object.keys(defaults);
    fail(key, where, `tool '${name}' has no option '${option}'${opts.length ? ` (options: on, ${opts.join(', ')})` : " (its only option is 'on')"}`);
  }
  const def = defaults[option];
  if (def === undefined || def === null || value === undefined) return;
  // A list option takes a list, an object option an object (typeof alone says 'object' for both, and for null).
  const kind = (v: unknown): string => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
  if (kind(def) !== kind(value)) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Config key '${key}' in ${where}: expected ${kind(def)}, got ${Array.isArray(value) ? 'a list' : describe(value)}`);
  }
}

/**
 * Run the `prepare` of every tool whose options one config object sets, on
 * those options over the ones `beneath` it (the global config under a
 * section) over the tool's defaults — at start-up, so a value the tool
 * refuses (`tools.gzip.level: 42`) fails there, not at a request. The
 * tool's error is rethrown as `DRUPE_ERR_CONFIG_VALUE` naming `where`.
 */
export function checkToolOptions(config: Readonly<Record<string, unknown>>, where: string, beneath: Readonly<Record<string, unknown>> = {}): void {
  const own = toolOptionsIn(config);
  if (own.size === 0) return;
  const under = beneath === config ? new Map<string, Record<string, unknown>>() : toolOptionsIn(beneath);
  for (const [name, options] of own) {
    const tool = findTool(name);
    if (tool?.prepare === undefined) continue;
    try {
      prepareTool(tool, toolOptions(tool, { ...under.get(name), ...options }));
    } catch (err) {
      throw refused(name, where, err);
    }
  }
}

function refused(name: string, where: string, err: unknown): DrupeError {
  const why = err instanceof Error ? err.message : String(err);
  // `tools.<name>.<option>: …` (the form built-in tools use) goes under its key, as the other config errors do.
  const m = new RegExp(`^(tools\\.${name}\\.[^:\\s]+): ([\\s\\S]*)$`).exec(why);
  const e = new DrupeError('DRUPE_ERR_CONFIG_VALUE', m !== null
    ? `Config key '${m[1]}' in ${where}: ${m[2]}`
    : `Options of tools.${name} in ${where}: ${why}`);
  e.cause = err;
  return e;
}

export const DEFAULT_SERVER_HEADER = 'Drupe';
export const DEFAULT_MAX_BODY = 100 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;

/** Defaults a whole environment brings, under the user's own keys (CherryPy's `environment`). */
export function environmentDefaults(env: Environment): Config {
  return {
    'request.show_tracebacks': env !== 'production',
    'log.screen': env !== 'test',
  };
}

export function defaultEnvironment(): Environment {
  return process.env.NODE_ENV === 'production' ? 'production' : process.env.NODE_ENV === 'test' ? 'test' : 'development';
}

/** A route's settings; `c` is the route's merged config, frozen (it becomes `request.config`). */
export function routeSettings(c: Readonly<Config>): RouteSettings {
  const maxBodySize = c['server.max_request_body_size'] ?? DEFAULT_MAX_BODY;
  return {
    config: c,
    stream: c['response.stream'] ?? false,
    showTracebacks: c['request.show_tracebacks'] ?? false,
    processBody: c['request.process_request_body'] ?? true,
    maxBodySize,
    maxParams: c['request.max_params'] ?? 1000,
    maxJsonDepth: c['request.max_json_depth'] ?? DEFAULT_MAX_JSON_DEPTH,
    maxParts: c['request.max_parts'] ?? 1000,
    maxFileSize: c['request.max_file_size'] ?? maxBodySize,
    spoolThreshold: c['request.spool_threshold'] ?? 1024 * 1024,
    maxBuffered: c['response.max_buffered_size'] ?? DEFAULT_MAX_BUFFERED,
    streamCommit: c['response.stream_commit'] ?? 'first-chunk',
    onStreamError: c['response.on_stream_error'],
    streamNosniff: c['response.stream_nosniff'] ?? true,
    serverHeader: c['response.headers.server'] ?? DEFAULT_SERVER_HEADER,
    secretKeys: secretKeys(c['server.secret_keys']),
  };
}

const NO_KEYS: readonly Buffer[] = Object.freeze([]);
/** One list of key bytes per configured list, shared by every route. */
const keyBytes = new WeakMap<readonly string[], readonly Buffer[]>();

function secretKeys(keys: readonly string[] | undefined): readonly Buffer[] {
  if (keys === undefined || keys.length === 0) return NO_KEYS;
  let bytes = keyBytes.get(keys);
  if (bytes === undefined) keyBytes.set(keys, (bytes = Object.freeze(keys.map((k) => Buffer.from(k)))));
  return bytes;
}
