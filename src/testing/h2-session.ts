import http2, { type ClientHttp2Session, type Settings } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_HOST, DEFAULT_TIMEOUT_MS } from './defaults.js';

export interface H2ConnectOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** The client's SETTINGS, e.g. `{ initialWindowSize: 1024 }` for a small per-stream flow-control window. */
  settings?: Settings;
  /** The connection-level receive window to announce (WINDOW_UPDATE on stream 0), when it should differ from 65 535. */
  connectionWindow?: number;
  /** Bound on the connection. Default 5000. */
  timeoutMs?: number;
  /** For an `https://` target: the certificate authority to trust (a test's self-signed certificate). ALPN offers `h2` only. */
  ca?: string | Buffer;
}

/** What the server's side of the connection did, as the client saw it. */
export interface H2SessionState {
  /** The GOAWAY the server sent, if any. */
  goaway: { code: number; lastStreamId: number } | undefined;
  /** The TCP connection is closed. */
  closed: boolean;
}

/**
 * An HTTP/2 connection to open several streams on (`h2Request(session, …)`):
 * cleartext with prior knowledge (no upgrade), or TLS with ALPN `h2` for an
 * `https://` target.
 */
export interface H2Session {
  readonly session: ClientHttp2Session;
  readonly state: H2SessionState;
  /** Close gracefully (GOAWAY after the open streams). */
  close(): Promise<void>;
  /** Drop the TCP connection now: no GOAWAY, no RST_STREAM (a client that vanished). */
  disconnect(): void;
}

/** Open an h2 connection to `127.0.0.1:port` (or a `http://` or `https://host:port` URL). Resolves once the server's SETTINGS arrived. */
export function h2Connect(target: number | string, options: H2ConnectOptions = {}): Promise<H2Session> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const url = typeof target === 'number' ? `http://${options.host ?? DEFAULT_HOST}:${target}` : target;
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const secure = url.startsWith('https:');
  let socket: net.Socket | undefined;
  const state: H2SessionState = { goaway: undefined, closed: false };
  return new Promise<H2Session>((resolve, reject) => {
    const session = http2.connect(url, {
      ...(options.settings === undefined ? {} : { settings: options.settings }),
      createConnection: () => {
        socket = secure
          ? tls.connect({ host, port: Number(port), ALPNProtocols: ['h2'], ...(options.ca === undefined ? {} : { ca: options.ca }), ...(net.isIP(host) === 0 ? { servername: host } : {}) })
          : net.connect({ host, port: Number(port) });
        socket.on('close', () => { state.closed = true; });
        return socket;
      },
    });
    session.on('goaway', (code: number, lastStreamId: number) => { state.goaway = { code, lastStreamId }; });
    session.on('error', () => undefined); // reported per stream
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`drupe/testing: no HTTP/2 connection to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`drupe/testing: the HTTP/2 connection to ${url} closed before it was set up`));
    });
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      if (options.connectionWindow !== undefined) session.setLocalWindowSize(options.connectionWindow);
      session.unref();
      resolve({
        session,
        state,
        close: () => new Promise<void>((done) => {
          if (session.closed || session.destroyed) return done();
          session.close(() => done());
        }),
        disconnect: () => {
          socket?.destroy();
          session.destroy();
        },
      });
    });
  });
}
