// The connections a closing HTTP/1 server ends at once, and the ones it gives a moment.
import type { ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** How long a connection that has not sent its first request yet may take to send it once the server closes, in ms. */
const FIRST_REQUEST_GRACE = 1000;

/** The response node is writing on a socket, from the one private field Drupe reads (see onClientError in server.ts). */
export function responseOn(socket: Socket): ServerResponse | null {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

const idle = (socket: Socket): boolean => {
  const res = responseOn(socket);
  return res === null || res.writableEnded;
};

/**
 * What a graceful close does with idle connections, in place of node's
 * `closeIdleConnections()`, which ends every connection without a request in
 * flight — also one just accepted, whose first request is on its way: that
 * client then sees a reset instead of an answer. Under node:cluster it is the
 * usual case, not a rare one: the primary hands a worker connections up to the
 * moment the worker's server closes. So a connection nothing was ever written
 * to gets `FIRST_REQUEST_GRACE` to send its request (answered with
 * `Connection: close`, since the app is closing) and is ended after that if it
 * sent none; a connection that was answered before and now waits idle is ended
 * at once, as node does (HOSTILE 24). Tracking costs one listener call per
 * connection, nothing per request.
 *
 * node's `server.close()` calls `closeIdleConnections()` itself (node ≥ 19), so
 * this replaces that method on the server: `close()` then ends idle connections
 * this way, and so does a user's own call.
 */
export function trackConnections(server: NetServer & { closeIdleConnections(): void }): void {
  const sockets = new Set<Socket>();
  // A TLS server's requests run on the TLS socket, which exists once the handshake is done.
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // An upgraded connection (WebSocket) is no longer HTTP's: its session closes it.
  server.on('upgrade', (_req: unknown, socket: Socket) => sockets.delete(socket));
  server.closeIdleConnections = () => {
    for (const socket of sockets) {
      if (!idle(socket)) continue;
      if (socket.bytesWritten > 0) {
        socket.destroy();
        continue;
      }
      const timer = setTimeout(() => { if (idle(socket)) socket.destroy(); }, FIRST_REQUEST_GRACE);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  };
}
