import { expose, type Context, type WebSocketConnection } from '../../src/index.js';
import { page } from './layout.js';

// #region chat
/**
 * A chat room over WebSocket: the endpoint is a handler of the tree like any other, so config
 * and tools (here a message size limit) apply before the upgrade.
 */
export class Chat {
  readonly #members = new Set<WebSocketConnection>();
  #guests = 0;

  @expose()
  index(): string {
    return page('Chat', `<h1>Chat</h1>
<p>Status: <b id="status">connecting…</b></p>
<ul id="messages"></ul>
<form id="say"><input name="text" maxlength="500" autocomplete="off" aria-label="message" required> <button>Send</button></form>
<script>
const list = document.getElementById('messages');
const status = document.getElementById('status');
const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/chat/room');
ws.onopen = () => { status.textContent = 'connected'; };
ws.onclose = (e) => { status.textContent = 'closed (' + e.code + ')'; };
ws.onmessage = (e) => { const li = document.createElement('li'); li.textContent = e.data; list.append(li); };
document.getElementById('say').onsubmit = (e) => {
  e.preventDefault();
  const input = e.target.elements.text;
  ws.send(input.value);
  input.value = '';
};
</script>`, {
      note: `<p>Open this page in two tabs and talk to yourself. <code>/chat/room</code> is a method marked <code>@expose.websocket()</code>: the upgrade request goes through dispatch, config and tools like any request, and only then becomes a socket.
Messages over 4 KiB close the socket with 1009; what you type is shown as text, never as markup; a tab that closes leaves the room at once.</p>`,
      source: 'chat.ts#chat',
    });
  }

  @expose.websocket({ 'websocket.max_message_size': 4096 })
  async room(socket: WebSocketConnection): Promise<void> {
    const name = `guest ${++this.#guests}`;
    this.#members.add(socket);
    this.#broadcast(`${name} joined`);
    try {
      for await (const message of socket) this.#broadcast(`${name}: ${message.toString()}`);
    } finally {
      this.#members.delete(socket);
      this.#broadcast(`${name} left`);
    }
  }

  /** To every member without waiting: one slow reader must not hold up the room, so it is dropped. */
  #broadcast(line: string): void {
    for (const member of this.#members) {
      if (member.bufferedAmount > 256 * 1024) member.close(1008, 'too slow');
      else member.send(line).catch(() => { /* it left: its own loop ends */ });
    }
  }
}
// #endregion
