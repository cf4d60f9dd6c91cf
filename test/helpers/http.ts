// Raw HTTP/1.x requests over a real socket, and the one response they get.
import assert from 'node:assert/strict';
import { rawRequest, type ParsedResponse, type RawRequestOptions, type RawResult } from '../../src/testing.js';

type RawData = Parameters<typeof rawRequest>[1];

export interface HeadOptions {
  method?: string;
  version?: '1.0' | '1.1';
  /** The Host header; '127.0.0.1' unless given, none when null. */
  host?: string | null;
  headers?: Record<string, string>;
}

/**
 * A request head as text: request line, Host, then the headers in order.
 * No Connection header of its own, so an HTTP/1.1 connection stays open.
 */
export function req(target: string, options: HeadOptions = {}): string {
  const host = options.host === undefined ? '127.0.0.1' : options.host;
  const headers: Record<string, string> = host === null ? { ...options.headers } : { Host: host, ...options.headers };
  const lines = [`${options.method ?? 'GET'} ${target} HTTP/${options.version ?? '1.1'}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent after the head, with a Content-Length unless the headers frame it. */
  body?: string | Buffer;
  version?: '1.0' | '1.1';
  /** No `Connection: close` (it is added to an HTTP/1.1 request that names no Connection). */
  keepAlive?: boolean;
  /** The Host header; `127.0.0.1:<port>` unless given, none when null. */
  host?: string | null;
}

/**
 * One raw request as exact bytes (the head latin1). HTTP/1.1 requests ask for
 * `Connection: close` (so the read ends with the server's close) unless
 * `keepAlive` is set or a Connection header is given.
 */
export function rawReq(port: number, method: string, target: string, opts: RequestOptions = {}): Buffer {
  const headers: Record<string, string> = { ...opts.headers };
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const names = Object.keys(headers).map((n) => n.toLowerCase());
  if (opts.version !== '1.0' && !opts.keepAlive && !names.includes('connection')) headers.Connection = 'close';
  if (body !== undefined && !names.includes('content-length') && !names.includes('transfer-encoding')) headers['Content-Length'] = String(body.length);
  const text = req(target, { method, version: opts.version ?? '1.1', host: opts.host === undefined ? `127.0.0.1:${port}` : opts.host, headers });
  const head = Buffer.from(text, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}

/** A request head with `Connection: close` unless `keepAlive`, Host '127.0.0.1'. */
export function head(method: string, target: string, headers: Record<string, string> = {}, keepAlive = false): string {
  return req(target, { method, headers: keepAlive ? headers : { ...headers, Connection: 'close' } });
}

/**
 * rawRequest with hang guards generous enough for a loaded machine running
 * every suite at once: a request that says `Connection: close` ends with the
 * server's close, so the idle wait is only a guard.
 */
export function raw(port: number, data: RawData, options: RawRequestOptions = {}): Promise<RawResult> {
  return rawRequest(port, data, { idleMs: 5000, timeoutMs: 15000, ...options });
}

/** The response to bytes sent on a connection of their own: exactly one, with the whole exchange as `raw`. */
export async function exchange(port: number, bytes: string | Buffer): Promise<ParsedResponse & { raw: RawResult }> {
  const r = await raw(port, bytes);
  assert.equal(r.responses.length, 1, `expected one response, got ${r.responses.length}: ${r.text.slice(0, 500)}`);
  return { ...r.responses[0]!, raw: r };
}

/** One request on its own connection (`Connection: close`), and its only response. */
export function one(port: number, method: string, target: string, headers: Record<string, string> = {}, opts: Omit<RequestOptions, 'headers'> = {}): Promise<ParsedResponse & { raw: RawResult }> {
  return exchange(port, rawReq(port, method, target, { ...opts, headers }));
}

/** Lower-case header names as sent, repeats kept. */
export function headerNames(res: ParsedResponse): string[] {
  return res.rawHeaders.map(([n]) => n.toLowerCase());
}

/** Exactly one answer, with this status, `Connection: close`, and the connection closed after it. */
export function assertRefused(res: RawResult, status: number, what: string): void {
  assert.equal(res.timedOut, false, `${what}: no hang`);
  assert.equal(res.responses.length, 1, `${what}: one answer, got ${JSON.stringify(res.text.slice(0, 400))}`);
  const r = res.responses[0]!;
  assert.equal(r.status, status, `${what}: status`);
  assert.equal(r.headers.connection?.toLowerCase(), 'close', `${what}: Connection: close`);
  assert.equal(res.closedByServer, true, `${what}: connection closed`);
}
