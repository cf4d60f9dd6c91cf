import { FetchIncoming, type FetchRemote } from '../http/fetch-incoming.js';
import { FetchOutgoing } from '../http/fetch-outgoing.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppHost } from './host.js';

/**
 * What a runtime may tell `app.fetch` beside the request: the client's
 * address, for `request.remote` and the access line. Each runtime's own
 * second argument fits as it is, so `app.fetch` can be handed over bare:
 * Bun passes its server (`requestIP`), Deno its handler info
 * (`remoteAddr`); anything else passes `{ remoteAddress, remotePort }`.
 *
 * @example
 *   Bun.serve({ fetch: app.fetch });             // Bun: requestIP(request)
 *   Deno.serve(app.fetch);                       // Deno: info.remoteAddr
 *   app.fetch(request, { remoteAddress: ip });   // any other host
 */
export interface FetchInfo {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Deno.serve's `info.remoteAddr`. */
  readonly remoteAddr?: { readonly hostname?: string; readonly port?: number };
  /** Bun.serve's server: `server.requestIP(request)`. */
  requestIP?(request: globalThis.Request): { readonly address: string; readonly port: number } | null;
}

/** The remote address `info` gives, whichever runtime's shape it has. */
function remoteOf(request: globalThis.Request, info: FetchInfo | undefined): FetchRemote {
  if (info === undefined || info === null || typeof info !== 'object') return { address: undefined, port: undefined };
  if (typeof info.remoteAddress === 'string') return { address: info.remoteAddress, port: info.remotePort };
  const deno = info.remoteAddr;
  if (deno !== undefined && deno !== null && typeof deno.hostname === 'string') return { address: deno.hostname, port: deno.port };
  if (typeof info.requestIP === 'function') {
    try {
      const ip = info.requestIP(request);
      if (ip !== null && ip !== undefined) return { address: ip.address, port: ip.port };
    } catch {
      // a server that cannot tell (the request did not come through it)
    }
  }
  return { address: undefined, port: undefined };
}

/** The request's URL; throws when it is neither absolute nor a bare path. */
export function urlOf(request: globalThis.Request): URL {
  try {
    return new URL(request.url);
  } catch (err) {
    // Bun.serve gives a request that came without Host (HTTP/1.0 allows none) its bare target for a
    // url: serve it at localhost, as serve() on node:http serves such a request, rather than fail
    // it. Appended, not resolved, so a target like '//other/x' stays a path.
    if (!request.url.startsWith('/')) throw err;
    return new URL(`http://localhost${request.url}`);
  }
}

/**
 * One web request through the app's pipeline (`app.fetch`): the request
 * is presented as the node request the pipeline reads, and the writer
 * writes into a sink that becomes the web Response (src/http/fetch-*.ts).
 * The request's signal aborting is the client going away.
 */
export function fetchThrough(host: AppHost, request: globalThis.Request, info?: FetchInfo): Promise<globalThis.Response> {
  let url: URL;
  try {
    url = urlOf(request);
  } catch (err) {
    return Promise.reject(err);
  }
  const incoming = new FetchIncoming(request, url, remoteOf(request, info));
  // A request some host built without a signal (a plain object standing in for one) has no client to lose.
  const signal = request.signal as AbortSignal | undefined;
  const onAbort = (): void => outgoing.gone();
  const outgoing = new FetchOutgoing(incoming, () => signal?.removeEventListener('abort', onAbort));
  if (signal?.aborted === true) outgoing.gone();
  else signal?.addEventListener('abort', onAbort);
  host.runExchange(incoming as unknown as IncomingMessage, outgoing as unknown as ServerResponse);
  return outgoing.response;
}
