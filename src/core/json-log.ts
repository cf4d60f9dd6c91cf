import { hostname } from 'node:os';
import { inspect } from 'node:util';
import type { Exchange } from '../http/writer.js';
import { closeDelimited } from './close-delimited.js';

// pino's levels: 30 info, 50 error.
const HEAD = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
const MESSAGES = { complete: 'request completed', error: 'request errored', 'client-closed': 'request aborted' } as const;

/** Milliseconds to three decimals, as a JSON number. */
function ms(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * A request's access line as pino-http writes one (`level`, `time`, `pid`,
 * `hostname`, `reqId`, `req`, `res`, `responseTime`, `msg`), so pino's tools
 * read it, plus how the response went out: `outcome`, `ttfb`, `bytes`.
 */
export function jsonAccessLine(ctx: Exchange): string {
  const { request, response } = ctx;
  const now = performance.now();
  const status = ctx.res.headersSent ? ctx.res.statusCode : response.committed ? response.status : 0;
  const ttfb = ctx.firstByteAt === 0 ? null : ms(ctx.firstByteAt - ctx.started);
  const truncation = ctx.outcome === 'error' && closeDelimited(ctx) ? ',"truncation":"invisible"' : '';
  return `{"level":30,"time":${Date.now()},${HEAD},"reqId":${JSON.stringify(request.id)},"req":{"method":${JSON.stringify(request.raw.method ?? '')},"url":${JSON.stringify(request.target)},"remoteAddress":${JSON.stringify(request.remote.ip)}},"res":{"statusCode":${status}},"responseTime":${ms(now - ctx.started)},"outcome":"${ctx.outcome}","ttfb":${ttfb},"bytes":${ctx.bytesSent}${truncation},"msg":"${MESSAGES[ctx.outcome]}"}`;
}

/** An error line as pino writes one: `level` 50, `err` with its type, message and stack. */
export function jsonErrorLine(message: string, err: unknown, requestId: string | undefined): string {
  let e = '';
  if (err instanceof Error) e = `,"err":${JSON.stringify({ type: err.name, message: err.message, stack: err.stack ?? String(err) })}`;
  else if (err !== undefined) e = `,"err":${JSON.stringify({ type: typeof err, message: inspect(err) })}`;
  const id = requestId === undefined ? '' : `,"reqId":${JSON.stringify(requestId)}`;
  return `{"level":50,"time":${Date.now()},${HEAD}${id}${e},"msg":${JSON.stringify(message)}}`;
}
