import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptUpgrade, isHandedOver } from '../core/websocket.js';

/**
 * node:http's 'upgrade' event, into the ordinary pipeline: the request gets a
 * response object on the raw socket, so dispatch, config and tools run as
 * for any request and may answer it (401, 403, 404, 426…). A WebSocket
 * endpoint takes the socket over instead (src/core/websocket.ts). Any other
 * answer closes the connection: node's parser has let go of the socket, so
 * nothing more can be read on it.
 */
export function upgradeListener(listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // node took its own error listener off the socket with the parser; a reset must not crash the process.
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    acceptUpgrade(req, socket, head);
    // node's server ends the socket after a response it handles itself; this one it does not know about.
    res.once('finish', () => {
      if (!isHandedOver(req)) (socket as Socket).destroySoon();
    });
    res.once('close', () => {
      if (!isHandedOver(req) && !res.writableFinished) socket.destroy();
    });
    listener(req, res);
  };
}
