import { reasonPhrase } from './status.js';

/** A status as `HTTPError` takes it: a number, or `'NNN Reason'` for a reason phrase of your own (CherryPy's form). */
export type HTTPErrorStatus = number | `${number} ${string}`;

// The same status line a response accepts: 3 digits, then an optional reason of visible bytes (no CR/LF).
const ERROR_STATUS_TEXT = /^(\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

/**
 * An HTTP answer raised as an exception: its status, and a message shown
 * (HTML-escaped) on the error page. `'NNN Reason'` sends that reason
 * phrase on the status line, as `response.status = 'NNN Reason'` does.
 *
 * @example
 *   if (!user) throw new HTTPError(403, 'Members only');
 *   throw new HTTPError("410 Gone fishin'");
 */
export class HTTPError extends Error {
  /** The status code (always a number, also when given as `'NNN Reason'`). */
  readonly status: number;
  /** The reason phrase sent on the status line: the one given with `'NNN Reason'`, else the standard one. */
  readonly reason: string;
  /** Extra response headers the error carries (`Allow` for a 405, `Connection: close` for a 413). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: HTTPErrorStatus = 500, message?: string, headers: Record<string, string> = {}) {
    const m = typeof status === 'string' ? ERROR_STATUS_TEXT.exec(status) : null;
    const code = m === null ? status : Number(m[1]);
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 599) {
      throw new DrupeError('DRUPE_ERR_HTTP_ERROR_STATUS', `HTTPError status must be an integer 400-599 or '4xx Reason' / '5xx Reason', got ${typeof status === 'string' ? JSON.stringify(status) : String(status)}`);
    }
    const reason = m?.[2] === undefined || m[2] === '' ? reasonPhrase(code) : m[2];
    super(message ?? reason);
    this.name = 'HTTPError';
    this.status = code;
    this.reason = reason;
    this.headers = headers;
  }
}

/**
 * A 404 naming the path.
 *
 * @example
 *   throw new NotFound();
 */
export class NotFound extends HTTPError {
  readonly path: string | undefined;
  constructor(path?: string) {
    super(404, path === undefined ? undefined : `The path '${path}' was not found.`);
    this.name = 'NotFound';
    this.path = path;
  }
}

/**
 * Send the client elsewhere. `urls` may be relative (resolved against the
 * current path); the `Location` sent is always absolute on this site's host.
 * Default status: 303 on HTTP/1.1, 302 on HTTP/1.0.
 *
 * @example
 *   throw new HTTPRedirect('/login');
 */
export class HTTPRedirect extends Error {
  readonly urls: readonly string[];
  readonly status: number | undefined;

  constructor(urls: string | readonly string[], status?: number) {
    const list = typeof urls === 'string' ? [urls] : [...urls];
    if (list.length === 0) throw new DrupeError('DRUPE_ERR_REDIRECT_URL', 'HTTPRedirect needs at least one URL');
    if (status !== undefined && (!Number.isInteger(status) || status < 300 || status > 308)) {
      throw new DrupeError('DRUPE_ERR_REDIRECT_STATUS', `HTTPRedirect status must be 300-308, got ${String(status)}`);
    }
    super(`redirect to ${list[0]}`);
    this.name = 'HTTPRedirect';
    this.urls = list;
    this.status = status;
  }
}

/**
 * Dispatch again, inside the server, to another path. A POST becomes a GET
 * that carries its params.
 *
 * @example
 *   throw new InternalRedirect('/login', { next: request.path });
 */
export class InternalRedirect extends Error {
  readonly path: string;
  readonly query: string | Readonly<Record<string, string | readonly string[]>>;

  constructor(path: string, query: string | Record<string, string | readonly string[]> = '') {
    super(`internal redirect to ${path}`);
    this.name = 'InternalRedirect';
    const q = path.indexOf('?');
    if (q >= 0 && query === '') {
      this.path = path.slice(0, q);
      this.query = path.slice(q + 1);
    } else {
      this.path = path;
      this.query = query;
    }
  }
}

/** A status or header change after the headers went out (S2). */
export class HeadersSentError extends Error {
  readonly code = 'DRUPE_ERR_HEADERS_SENT';
  constructor(what: string) {
    super(`Cannot ${what}: the response headers were already sent`);
    this.name = 'HeadersSentError';
  }
}

/** Why `request.signal` aborted: `reason.code` is one of these. */
export type AbortCode = 'DRUPE_CLIENT_CLOSED' | 'DRUPE_SERVER_CLOSING';

/** The reason `request.signal` aborts with: the client left, or the server is shutting down. */
export class RequestAbortedError extends Error {
  readonly code: AbortCode;
  constructor(code: AbortCode, message: string) {
    super(message);
    this.name = 'AbortError';
    this.code = code;
  }
}

/** The client went away (or broke the framing) while its body was read: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor(cause?: unknown) {
    super('The client closed the connection while sending its body', { cause });
    this.name = 'ClientGoneError';
  }
}

/**
 * Framework misuse, with a stable code documented in docs/errors.md.
 * Raised at start-up for bad config, or as a 500 for bad handler output.
 */
export class DrupeError extends Error {
  readonly code: DrupeOwnCode;
  constructor(code: DrupeOwnCode, message: string) {
    super(message);
    this.name = 'DrupeError';
    this.code = code;
  }
}

/**
 * A body that is not a body: a plain object, a number, a chunk that is
 * neither a string nor bytes. A TypeError (it is one), with a stable code.
 */
export class BodyTypeError extends TypeError {
  readonly code = 'DRUPE_ERR_BODY_TYPE';
  constructor(message: string) {
    super(message);
    this.name = 'BodyTypeError';
  }
}

/**
 * A worker process could not start (worker mode, `server.workers`): it exited or reported a
 * failure before it was ready. `reason` is its one line, `exitCode` the code it exited with.
 */
export class WorkerStartError extends Error {
  readonly code = 'DRUPE_ERR_WORKER_START';
  readonly reason: string;
  readonly exitCode: number;
  constructor(reason: string, exitCode: number, worker = 'a worker') {
    super(`${worker} failed to start: ${reason} (exit code ${exitCode})`);
    this.name = 'WorkerStartError';
    this.reason = reason;
    this.exitCode = exitCode;
  }
}

/** Workers kept crashing (worker mode): the pool gave up and stopped. */
export class WorkerCrashLoopError extends Error {
  readonly code = 'DRUPE_ERR_WORKER_CRASH_LOOP';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashLoopError';
  }
}

/**
 * Every `DRUPE_ERR_` code; docs/errors.md lists each (a test keeps them in
 * step). Each code belongs to one class: `HeadersSentError`, `BodyTypeError`,
 * `WorkerStartError` and `WorkerCrashLoopError` own theirs, `DrupeError` carries the others.
 */
export const errorCodes = [
  'DRUPE_ERR_CONFIG_KEY',
  'DRUPE_ERR_CONFIG_VALUE',
  'DRUPE_ERR_CONFIG_FILE',
  'DRUPE_ERR_HTTP_ERROR_STATUS',
  'DRUPE_ERR_REDIRECT_URL',
  'DRUPE_ERR_REDIRECT_STATUS',
  'DRUPE_ERR_REDIRECT_LOOP',
  'DRUPE_ERR_HEADERS_SENT',
  'DRUPE_ERR_INVALID_STATUS',
  'DRUPE_ERR_INVALID_HEADER',
  'DRUPE_ERR_BODY_TYPE',
  'DRUPE_ERR_BODY_TOO_LARGE',
  'DRUPE_ERR_CHARSET',
  'DRUPE_ERR_CONTENT_LENGTH',
  'DRUPE_ERR_TOOL',
  'DRUPE_ERR_SSE_FIELD',
  'DRUPE_ERR_SESSION',
  'DRUPE_ERR_WORKER_START',
  'DRUPE_ERR_WORKER_CRASH_LOOP',
] as const;
export type DrupeErrorCode = (typeof errorCodes)[number];
/** The codes a `DrupeError` may carry: all but those another class owns. */
type DrupeOwnCode = Exclude<DrupeErrorCode, HeadersSentError['code'] | BodyTypeError['code'] | WorkerStartError['code'] | WorkerCrashLoopError['code']>;
