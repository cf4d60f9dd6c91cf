// The node server serve() listens with: node:http, node:https, or node:http2 (`server.http2`),
// set up from the global config, and HTTP/2's side of a graceful close (GOAWAY, then a cut).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import {
  constants,
  createSecureServer,
  createServer as createH2Server,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2Server,
  type Http2Session,
  type SecureServerOptions,
  type ServerHttp2Stream,
  type ServerOptions as H2ServerOptions,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Config } from '../core/config.js';
import type { TlsMaterial } from './tls.js';
import { checkHttp2Runtime } from './runtime-support.js';

/** Any server serve() may listen with. */
export type NodeServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer;

/** HTTP/2's defaults, each a bound against a hostile client (docs/security.md, HOSTILE 40–43). */
export const H2_DEFAULTS = {
  /** Streams one session may have open (HOSTILE 40): node refuses more with RST_STREAM(REFUSED_STREAM). */
  maxConcurrentStreams: 100,
  /** A header block larger than this is refused (HOSTILE 41); node's HTTP/1.1 default, so both protocols agree. */
  maxHeaderListSize: 16 * 1024,
  /** MB of memory one session may hold in node's nghttp2 buffers before new streams are refused (HOSTILE 43). */
  maxSessionMemory: 10,
} as const;

/** The HTTP/1.1 settings the listener gets, worked out by server.ts from the config. */
export interface Http1Settings {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
  maxHeaderSize: number | undefined;
}

/** A server, and for HTTP/2 what a graceful close needs to reach. */
export interface CreatedServer {
  readonly server: NodeServer;
  readonly scheme: 'http' | 'https';
  /** HTTP/2 only: GOAWAY to every session now, and destroy whatever is left when `cut()` is called. */
  readonly h2: H2Sessions | undefined;
}

export interface H2Sessions {
  /** GOAWAY to each session: streams open go on, new ones are refused, the session closes once they end. */
  goaway(): void;
  /** Destroy every session and connection still open (the shutdown timeout ran out). */
  cut(): void;
}

/** Create the server the config asks for (not yet listening). */
export function createNodeServer(c: Config, tls: TlsMaterial | undefined, h1: Http1Settings): CreatedServer {
  const scheme = tls === undefined ? 'http' : 'https';
  const http1: ServerOptions = {
    headersTimeout: h1.headersTimeout,
    requestTimeout: h1.requestTimeout,
    keepAliveTimeout: h1.keepAliveTimeout,
    connectionsCheckingInterval: h1.connectionsCheckingInterval,
    noDelay: true,
    ...(h1.maxHeaderSize !== undefined ? { maxHeaderSize: h1.maxHeaderSize } : {}),
  };
  if (c['server.http2'] !== true) {
    const server = tls === undefined ? createHttpServer(http1) : createHttpsServer({ ...http1, ...tls });
    return { server, scheme, h2: undefined };
  }
  checkHttp2Runtime();
  const h2: H2ServerOptions = {
    maxSessionMemory: H2_DEFAULTS.maxSessionMemory,
    settings: {
      maxConcurrentStreams: c['server.http2_max_concurrent_streams'] ?? H2_DEFAULTS.maxConcurrentStreams,
      maxHeaderListSize: h1.maxHeaderSize ?? H2_DEFAULTS.maxHeaderListSize,
    },
  };
  let server: Http2Server | Http2SecureServer;
  if (tls === undefined) {
    server = createH2Server(h2);
  } else {
    const options: SecureServerOptions = { ...h2, ...tls, allowHTTP1: true };
    const secure = createSecureServer(options);
    // node's HTTP/1.1 fallback reads these from the server; Http2SecureServer sets only some of them.
    Object.assign(secure, {
      headersTimeout: h1.headersTimeout,
      requestTimeout: h1.requestTimeout,
      keepAliveTimeout: h1.keepAliveTimeout,
      connectionsCheckingInterval: h1.connectionsCheckingInterval,
      maxHeaderSize: h1.maxHeaderSize,
      requireHostHeader: true,
    });
    server = secure;
  }
  return { server, scheme, h2: trackSessions(server, h1.keepAliveTimeout) };
}

/** An open stream, linked to the session's other open streams through itself (see `trackSessions`). */
interface Linked extends ServerHttp2Stream {
  [kPrev]?: Linked | undefined;
  [kNext]?: Linked | undefined;
}
const kPrev = Symbol('drupe.h2.prev');
const kNext = Symbol('drupe.h2.next');

/** One session's open streams and its idle timer. */
interface Tracked {
  open: number;
  /** The newest open stream; the others follow through `kNext`. */
  head: Linked | undefined;
  /** Its requests' 'close' listener: one function a session, `this` the request. */
  closed: (this: Http2ServerRequest) => void;
}

/**
 * Keep every session and socket of an HTTP/2 server, to GOAWAY and cut them on close. A session
 * with no stream open is closed after `idleMs` (the keep-alive timeout), as node:http does with
 * an idle HTTP/1.1 connection; a session with a stream open is never timed out here.
 *
 * A session's open streams are a list linked through the streams themselves, not a Set: a
 * long-lived Set that takes and drops a young object per request makes every young-generation
 * collection work through it (the old Set of all streams cost 25,000 instructions a request
 * on /hello, some 13 %; bench/instructions.sh /hello h2-drupe). Each session keeps one idle
 * timer for its life, restarted rather than made anew.
 *
 * A stream counts as open from its request (the 'request' and 'checkContinue' events, which every
 * stream the app answers comes through) until its request's 'close'. Not the stream's own
 * 'close': node's compatibility layer has two listeners there already, and a third turns the
 * stream's listener array into one of 19 slots (144 bytes more a stream in flight:
 * bench/h2-retained.mjs); the request's 'close' has no other listener. A CONNECT stream, or one
 * whose Expect node refuses, never reaches the app and ends at once.
 */
function trackSessions(server: Http2Server | Http2SecureServer, idleMs: number): H2Sessions {
  const sessions = new Map<Http2Session, Tracked>();
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: Http2Session) => {
    const timer = idleMs > 0 ? setTimeout(() => { if (tracked.open === 0) session.close(); }, idleMs).unref() : undefined;
    const tracked: Tracked = {
      open: 0,
      head: undefined,
      // 'close' fires once per request: no closure and no once-wrapper per request.
      closed(this: Http2ServerRequest): void {
        const stream = this.stream as Linked;
        const prev = stream[kPrev];
        const next = stream[kNext];
        if (prev === undefined) tracked.head = next;
        else prev[kNext] = next;
        if (next !== undefined) next[kPrev] = prev;
        stream[kPrev] = stream[kNext] = undefined;
        if (--tracked.open === 0 && !session.closed && !session.destroyed) timer?.refresh();
      },
    };
    sessions.set(session, tracked);
    session.once('close', () => {
      clearTimeout(timer);
      sessions.delete(session);
    });
    // A session's error (a protocol error, a reset socket) ends that session; it must not reach the process.
    session.on('error', () => {});
    if (closing) session.close();
  });
  const opened = (req: Http2ServerRequest | IncomingMessage): void => {
    // An HTTP/1.1 request (`allowHTTP1`) has no stream.
    const stream = (req as Http2ServerRequest).stream as Linked | undefined;
    if (stream === undefined || req.httpVersionMajor !== 2) return;
    const tracked = sessions.get(stream.session!);
    if (tracked === undefined) return;
    tracked.open++;
    const head = tracked.head;
    stream[kPrev] = undefined;
    stream[kNext] = head;
    if (head !== undefined) head[kPrev] = stream;
    tracked.head = stream;
    req.on('close', tracked.closed);
  };
  server.on('request', opened);
  server.on('checkContinue', opened);
  return {
    goaway() {
      closing = true;
      for (const session of sessions.keys()) if (!session.closed) session.close();
    },
    cut() {
      // RST_STREAM(INTERNAL_ERROR) on each open stream: the client sees it fail, never a response
      // that ends cleanly (node's own client takes CANCEL for a normal end).
      for (const tracked of sessions.values()) {
        const open: Linked[] = [];
        for (let s = tracked.head; s !== undefined; s = s[kNext]) open.push(s);
        for (const stream of open) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      }
      // node sends those resets on a later turn; a session destroyed now would reset them with CANCEL.
      setImmediate(() => {
        for (const session of sessions.keys()) session.destroy();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
