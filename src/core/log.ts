import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type { Exchange } from '../http/writer.js';
import { closeDelimited } from './close-delimited.js';
import { jsonAccessLine, jsonErrorLine } from './json-log.js';
import { LogFile } from './log-file.js';

export interface LogOptions {
  /** Access lines to stdout, errors to stderr. */
  screen: boolean;
  accessFile?: string | undefined;
  errorFile?: string | undefined;
  /** 'combined' (the default) or 'json' (pino's shape). */
  format?: 'combined' | 'json' | undefined;
}

type Sink = (text: string) => void;

/**
 * Access and error logs. Access lines are batched and written once per
 * event-loop turn, so logging costs one write per burst, not per request.
 * Files are written through streams (never blocking); close() flushes what
 * is batched and waits until the files have it all.
 */
export class Logger {
  #access: Sink[] = [];
  #error: Sink[] = [];
  #files: LogFile[] = [];
  #pending = '';
  #scheduled = false;
  /** Chosen once: the line builder of the configured format. */
  readonly #line: (ctx: Exchange) => string;
  readonly #json: boolean;

  constructor(options: LogOptions) {
    this.#json = options.format === 'json';
    this.#line = this.#json ? jsonAccessLine : accessLine;
    if (options.screen) {
      this.#access.push((t) => process.stdout.write(t));
      this.#error.push((t) => process.stderr.write(t));
    }
    if (options.accessFile !== undefined) this.#access.push(this.#file(options.accessFile));
    if (options.errorFile !== undefined) this.#error.push(this.#file(options.errorFile));
  }

  #file(path: string): Sink {
    const file = new LogFile(path);
    this.#files.push(file);
    return file.write;
  }

  get accessEnabled(): boolean {
    return this.#access.length > 0;
  }

  /** The access line of a finished request, in the configured format. */
  access(ctx: Exchange): void {
    if (this.#access.length === 0) return;
    this.#pending += this.#line(ctx) + '\n';
    if (this.#pending.length > 65536) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** An error line with the request id and the stack (or a message alone). */
  error(message: string, err?: unknown, requestId?: string): void {
    let text: string;
    if (this.#json) text = jsonErrorLine(message, err, requestId) + '\n';
    else {
      const id = requestId === undefined ? '' : ` [${requestId}]`;
      const detail = err === undefined ? '' : '\n' + (err instanceof Error ? (err.stack ?? String(err)) : inspect(err));
      text = `${new Date().toISOString()}${id} ${message}${detail}\n`;
    }
    for (const sink of this.#error) sink(text);
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    for (const sink of this.#access) sink(text);
  }

  /**
   * Reopen the log files at their paths, for logrotate (which renames a file
   * and then asks the server to start a new one). Batched lines go first.
   */
  reopen(): void {
    this.flush();
    for (const file of this.#files) file.reopen();
  }

  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.#files.map((f) => f.end()));
    this.#files = [];
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let stampSecond = -1;
let stamp = '';

/** `[10/Oct/2000:13:55:36 +0000]`, computed once a second. */
export function clfTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000);
    const p = (n: number): string => (n < 10 ? '0' + n : String(n));
    stamp = `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000]`;
    stampSecond = second;
  }
  return stamp;
}

/** A value for a quoted field of the combined format: quotes and control characters escaped. */
export function quoted(v: string | undefined): string {
  if (v === undefined || v === '') return '-';
  // eslint-disable-next-line no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(v) ? v.replace(/["\\\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')) : v;
}

/** A request's access line: Apache combined format, then duration, request id, and for streams how they ended. */
export function accessLine(ctx: Exchange): string {
  const { request, response } = ctx;
  const ms = (performance.now() - ctx.started).toFixed(3);
  const status = ctx.res.headersSent ? ctx.res.statusCode : response.committed ? response.status : 0;
  let line = `${request.remote.ip} - - ${clfTime()} "${quoted(`${request.raw.method} ${request.target} ${request.protocol}`)}" ${status || '-'} ${ctx.bytesSent || '-'} "${quoted(request.headers.referer)}" "${quoted(request.headers['user-agent'])}" ${ms}ms ${request.id}`;
  if (ctx.streamed || ctx.outcome !== 'complete') {
    const ttfb = ctx.firstByteAt === 0 ? '-' : (ctx.firstByteAt - ctx.started).toFixed(3) + 'ms';
    line += ` outcome=${ctx.outcome} ttfb=${ttfb}`;
    if (ctx.outcome === 'error' && closeDelimited(ctx)) line += ' truncation=invisible';
  }
  return line;
}
