// The `ws` scenario's baseline: ws's own WebSocketServer on node:http doing the same echo
// (no heartbeat: what a bare ws server does unless its author adds one).
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { answerMemory } from './ws-common.mjs';

const port = Number(process.argv[2]);
answerMemory();
const server = createServer((req, res) => { res.statusCode = 404; res.end(); });
const wss = new WebSocketServer({ server, path: '/echo', maxPayload: 1024 * 1024, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
