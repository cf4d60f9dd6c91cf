import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { HTTPError, RequestAbortedError } from '../lib/errors.js';
import { kAbort, type Context, type Handler } from '../http/request.js';
import { kMarkCommitted } from '../http/response.js';
import type { Config } from './config.js';
import type { Exchange, WriterHost } from '../http/writer.js';
import { WebSocketConnection } from './websocket-connection.js';

/**
 * A WebSocket endpoint: gets the open socket and the request's context
 * (its request, config and params as any handler's). The session ends when
 * the handler returns (the socket is closed with 1000 if still open) or
 * the socket closes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WebSocketHandler = (this: any, socket: WebSocketConnection, ctx: Context) => unknown;

export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
export const DEFAULT_HEARTBEAT = 30;

/** What a session uses of the pipeline's context (the pipeline's RequestContext, seen from here without importing it: no cycle). */
type SessionContext = Exchange & Context & { readonly host: WriterHost; readonly plan: { readonly config: Readonly<Config> } | undefined };

/** An upgrade request node handed over: the raw socket and the bytes read past the head. */
interface Upgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  /** The subprotocols the endpoint speaks, set once its config is known. */
  protocols?: readonly string[] | undefined;
}

const upgrades = new WeakMap<IncomingMessage, Upgrade>();
/** Requests whose socket belongs to ws now: the pipeline writes nothing on it. */
const handedOver = new WeakSet<IncomingMessage>();
const endpoints = new WeakSet<Function>();

/** The server side calls it for each 'upgrade' before the request enters the pipeline. */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  upgrades.set(req, { socket, head });
}

/** Whether the lifecycle must leave the response unwritten: the socket is a WebSocket's now. */
export function isHandedOver(req: IncomingMessage): boolean {
  return handedOver.has(req);
}

export function isWebSocketEndpoint(fn: unknown): boolean {
  return typeof fn === 'function' && endpoints.has(fn);
}

/**
 * An Upgrade request reached a handler. A WebSocket upgrade to a page handler
 * is a 426 (a resource without a handler still answers 404/405). Another
 * protocol (h2c) is ignored, as RFC 9110 allows, and the page answers — unless
 * the request has a body: node has let go of the socket, so the handler
 * would see none, and a 400 says so rather than lose it.
 */
export function refuseUpgrade(req: IncomingMessage, handler: Handler, exposedHandler: boolean): void {
  if (endpoints.has(handler)) return;
  if (!isWebSocketUpgrade(req)) {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0)) {
      throw new HTTPError(400, 'A request asking to switch protocols cannot carry a body here', { Connection: 'close' });
    }
    return;
  }
  if (exposedHandler) throw new HTTPError(426, 'This resource is not a WebSocket endpoint', { Connection: 'close' });
}

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.toLowerCase() === 'websocket';
}

/** Wrap a WebSocket handler as the page handler the tree dispatches to. */
export function websocketEndpoint(fn: WebSocketHandler): Handler {
  // Called by the pipeline with a context; called by user code with a socket (a method's own callers), it is `fn` itself.
  const endpoint = function websocketEndpoint(this: unknown, first: Context | WebSocketConnection, ctx?: Context): unknown {
    if (first instanceof WebSocketConnection) return fn.call(this, first, ctx!);
    return session(this, fn, first as SessionContext);
  };
  endpoints.add(endpoint);
  return endpoint;
}

/** One ws server per message size limit, in no-server mode: Drupe owns the HTTP side. */
const servers = new Map<number, WebSocketServer>();

function serverFor(maxPayload: number): WebSocketServer {
  let server = servers.get(maxPayload);
  if (server === undefined) {
    server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      // Off: a compressed message is a decompression bomb to bound, and memory per socket grows.
      perMessageDeflate: false,
      // ws refuses a frame announcing more than this before reading its payload, with 1009 (HOSTILE 47).
      maxPayload,
      // ws would accept the first subprotocol offered; only one the endpoint declared is agreed.
      handleProtocols: (offered, req) => {
        const mine = upgrades.get(req)?.protocols;
        if (mine !== undefined) for (const p of offered) if (mine.includes(p)) return p;
        return false;
      },
    });
    servers.set(maxPayload, server);
  }
  return server;
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** Check the handshake as ws would, so a bad one is an ordinary HTTP answer through the pipeline. */
function checkHandshake(req: IncomingMessage, config: Readonly<Config>): void {
  if (!isWebSocketUpgrade(req)) {
    throw new HTTPError(426, 'This resource is a WebSocket endpoint', { Upgrade: 'websocket', Connection: 'Upgrade' });
  }
  if (req.method !== 'GET') throw new HTTPError(405, 'A WebSocket handshake is a GET', { Allow: 'GET', Connection: 'close' });
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    throw new HTTPError(426, 'Unsupported WebSocket version', { 'Sec-WebSocket-Version': '13, 8', Connection: 'close' });
  }
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key.trim())) throw new HTTPError(400, 'Missing or invalid Sec-WebSocket-Key', { Connection: 'close' });
  const origins = config['websocket.origins'];
  const origin = req.headers.origin;
  // A browser always sends Origin; a page on another site must not ride on the user's cookies (cross-site WebSocket hijacking).
  if (origins !== undefined && origin !== undefined && !origins.includes(origin)) {
    throw new HTTPError(403, 'This origin may not open a WebSocket here', { Connection: 'close' });
  }
}

async function session(self: unknown, fn: WebSocketHandler, ctx: SessionContext): Promise<void> {
  const req = ctx.request.raw;
  const upgrade = upgrades.get(req);
  // app.listener mounted by hand on a server without Drupe's 'upgrade' wiring: no socket to take over.
  if (upgrade === undefined) throw new HTTPError(426, 'This resource is a WebSocket endpoint', { Upgrade: 'websocket', Connection: 'Upgrade' });
  const config = ctx.plan?.config ?? {};
  checkHandshake(req, config);
  if (ctx.host.closing) throw new HTTPError(503, 'The server is shutting down', { Connection: 'close' });
  upgrade.protocols = config['websocket.protocols'];

  handedOver.add(req);
  const { socket, head } = upgrade;
  const opened = await handshake(ctx, socket, head, config['websocket.max_message_size'] ?? DEFAULT_MAX_MESSAGE_SIZE);
  if (opened === null) {
    ctx.outcome = 'client-closed';
    return;
  }
  const { ws, conn } = opened;
  const { request, response } = ctx;
  response.status = 101;
  response[kMarkCommitted]();
  ctx.streamed = true;
  if (ctx.started !== 0) ctx.firstByteAt = performance.now();
  const stopHeartbeat = heartbeat(ws, config['websocket.heartbeat'] ?? DEFAULT_HEARTBEAT);
  // The server's close() aborts the signals of what is in `streams`: each socket then closes with 1001.
  ctx.host.streams.add(ctx);
  let shutdownTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    const reason: unknown = request.signal.reason;
    if (!(reason instanceof RequestAbortedError) || reason.code !== 'DRUPE_SERVER_CLOSING') return;
    conn.close(1001, 'Server shutting down');
    // A peer that never answers the close frame is cut after the shutdown timeout.
    shutdownTimer = setTimeout(() => ws.terminate(), ((config['server.shutdown_timeout'] ?? 10) * 1000));
    shutdownTimer.unref();
  };
  request.signal.addEventListener('abort', onAbort, { once: true });
  const closed = conn.closed.then((close) => {
    request[kAbort](new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The WebSocket closed'));
    return close;
  });

  let failed = false;
  try {
    await fn.call(self, conn, ctx);
  } catch (err) {
    if (!(err instanceof RequestAbortedError)) {
      failed = true;
      ctx.host.logError('A WebSocket handler failed', err, request.id);
      conn.close(1011, 'Internal error');
    }
  }
  conn.close(1000);
  const { code } = await closed;
  stopHeartbeat();
  clearTimeout(shutdownTimer);
  request.signal.removeEventListener('abort', onAbort);
  ctx.host.streams.delete(ctx);
  ctx.bytesSent = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  ctx.outcome = failed ? 'error' : code === 1006 ? 'client-closed' : 'complete';
}

/**
 * Let ws answer the handshake (the 101) and take the socket; null if the socket closed first. The
 * connection, and so its message listener, is made in ws's callback, not after the await: a
 * runtime may deliver socket data from a promise job (Deno does), and a message ws emitted before
 * the listener is lost.
 */
function handshake(ctx: SessionContext, socket: Duplex, head: Buffer, maxPayload: number): Promise<{ ws: WsSocket; conn: WebSocketConnection } | null> {
  // From here the socket is ws's: the response object lets go of it, and never writes.
  const res = ctx.res;
  if (res.socket !== null) res.detachSocket(res.socket);
  return new Promise((resolve) => {
    const gone = (): void => resolve(null);
    socket.once('close', gone);
    serverFor(maxPayload).handleUpgrade(ctx.request.raw, socket, head, (ws) => {
      socket.off('close', gone);
      resolve({ ws, conn: new WebSocketConnection(ws) });
    });
  });
}

/** The sockets pinged every so many seconds, and the one timer that pings them all (a timer per socket costs memory per socket). */
const beats = new Map<number, { readonly alive: Map<WsSocket, boolean>; readonly timer: NodeJS.Timeout }>();

/** Ping every `seconds`; a peer that has not answered the previous ping by then is cut (close code 1006). */
function heartbeat(ws: WsSocket, seconds: number): () => void {
  if (seconds <= 0) return () => undefined;
  let beat = beats.get(seconds);
  if (beat === undefined) {
    const alive = new Map<WsSocket, boolean>();
    const timer = setInterval(() => {
      for (const [peer, answered] of alive) {
        if (!answered) {
          alive.delete(peer);
          peer.terminate();
        } else {
          alive.set(peer, false);
          peer.ping();
        }
      }
    }, seconds * 1000);
    timer.unref();
    beats.set(seconds, (beat = { alive, timer }));
  }
  const { alive } = beat;
  alive.set(ws, true);
  ws.on('pong', () => { if (alive.has(ws)) alive.set(ws, true); });
  return () => {
    alive.delete(ws);
    if (alive.size === 0 && beats.get(seconds) === beat) {
      clearInterval(beat!.timer);
      beats.delete(seconds);
    }
  };
}
