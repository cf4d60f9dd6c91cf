// The `ws` scenario's Drupe server: one WebSocket endpoint that echoes every message,
// with Drupe's defaults (1 MiB messages, a 30 s heartbeat). Needs `npm run build` at the root.
import { App, exposed, serve } from '../../dist/index.js';
import { answerMemory } from './ws-common.mjs';

const port = Number(process.argv[2]);
answerMemory();
const root = {
  echo: exposed.websocket(async (socket) => {
    for await (const message of socket) await socket.send(message);
  }),
};
await serve(new App(root), { host: '127.0.0.1', port, config: { environment: 'production', 'log.screen': false } });
process.stdout.write('ready\n');
