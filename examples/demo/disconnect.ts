import { abortable, expose, sleep, sse, type Context } from '../../src/index.js';
import { page, pageEnd, pageStart } from './layout.js';
import type { DemoOptions } from './options.js';

/** One row every ROW_MS, ROWS of them: ten minutes, longer than anyone watches. */
const ROW_MS = 250;
const ROWS = 2400;
/** How many producers the state page lists (stopped ones are dropped oldest first). */
const KEEP = 12;

// #region producers
/** What the state page shows of one producer: the generator behind one /disconnect/stream response. */
interface Producer {
  readonly id: number;
  readonly reader: string;
  state: 'running' | 'stopped';
  count: number;
  /** Why it stopped, from its `finally`: the abort reason's code, or its own end. */
  reason?: string;
  /** Milliseconds from request.signal's abort to the `finally`, when it was a disconnect. */
  afterAbortMs?: number;
}

/** The producers this demo runs, and a wake-up for the state page's event stream at each change. */
class Producers {
  readonly #list: Producer[] = [];
  #nextId = 1;
  #version = 0;
  #wake: () => void = () => undefined;
  #changed = new Promise<void>((resolve) => { this.#wake = resolve; });

  start(reader: string): Producer {
    const producer: Producer = { id: this.#nextId++, reader, state: 'running', count: 0 };
    this.#list.unshift(producer);
    const stopped = this.#list.filter((p) => p.state === 'stopped');
    for (const old of stopped.slice(Math.max(0, KEEP - (this.#list.length - stopped.length)))) this.#list.splice(this.#list.indexOf(old), 1);
    this.changed();
    return producer;
  }

  changed(): void {
    this.#version++;
    this.#wake();
    this.#changed = new Promise<void>((resolve) => { this.#wake = resolve; });
  }

  snapshot(): { version: number; producers: readonly Producer[] } {
    return { version: this.#version, producers: this.#list };
  }

  /** Resolves at the first change after `version` (at once if there was one). */
  after(version: number): Promise<void> {
    return version < this.#version ? Promise.resolve() : this.#changed;
  }
}
// #endregion

export class Disconnect {
  readonly producers = new Producers();

  constructor(readonly options: DemoOptions) {}

  // #region stream
  /**
   * A long stream: a row every 250 ms for ten minutes. `sleep` listens to request.signal, so a
   * tab closed or a reader aborted ends the wait at once, and the `finally` records why.
   * `?as=text` sends plain lines (for the page's fetch reader) instead of an HTML page.
   */
  @expose({ 'response.stream': true })
  async *stream({ request, response, params }: Context): AsyncGenerator<string> {
    const text = params.as === 'text';
    if (text) response.headers.set('Content-Type', 'text/plain;charset=utf-8');
    const producer = this.producers.start(text ? 'a fetch reader' : 'a browser tab');
    let abortedAt = 0;
    request.signal.addEventListener('abort', () => { abortedAt = performance.now(); }, { once: true });
    // Changed once the last row is out; until then an end without an abort is the server closing the iterator (HEAD, S7).
    let end = 'closed by the server before its end';
    try {
      yield text ? `producer ${producer.id}\n` : `${pageStart(`Producer ${producer.id}`)}<h1 id="producer" data-id="${producer.id}">Producer ${producer.id}</h1>
<p>This response is still being written: a row every ${ROW_MS} ms. Close this tab and watch <a href="/disconnect/" target="_blank">the state page</a>.</p><ol class="rows">`;
      for (let n = 1; n <= ROWS; n++) {
        await sleep(ROW_MS, request.signal);
        producer.count = n;
        this.producers.changed();
        yield text ? `row ${n}\n` : `<li>row ${n}</li>`;
      }
      end = `finished its ${ROWS} rows`;
      if (!text) yield `</ol>${pageEnd({ source: 'disconnect.ts#stream' })}`;
    } catch (err) {
      if (!request.signal.aborted) { end = 'failed'; throw err; }
      // The wait was cut by the disconnect: nothing is left to write, so end quietly.
    } finally {
      const reason = request.signal.reason as { code?: string } | undefined;
      producer.state = 'stopped';
      producer.reason = request.signal.aborted ? `request.signal aborted: ${reason?.code ?? String(reason)}` : end;
      if (abortedAt !== 0) producer.afterAbortMs = performance.now() - abortedAt;
      this.producers.changed();
    }
  }
  // #endregion

  // #region state
  /** The producers' state as server-sent events: a snapshot at every change. */
  @expose()
  state({ request }: Context): unknown {
    const producers = this.producers;
    return sse((async function* () {
      for (;;) {
        const { version, producers: list } = producers.snapshot();
        yield { event: 'state', id: String(version), data: list };
        try {
          await abortable(producers.after(version), request.signal); // the wait ends when the viewer leaves
        } catch {
          return;
        }
      }
    })(), { heartbeat: 15_000 });
  }
  // #endregion

  // #region index
  @expose()
  index(): string {
    return page('Disconnect', `<h1>Disconnect</h1>
<p>Each <a href="stream" target="_blank">long stream</a> is a generator on the server writing a row every ${ROW_MS} ms for ten minutes. Open one in a new tab (or start a reader below), then close the tab (or abort the reader): its producer stops at once, and this table says why.</p>
<h2>Producers, live</h2>
<p id="feed" class="muted">Connecting…</p>
<div class="wide"><table id="producers"><thead><tr><th>#</th><th>Read by</th><th>State</th><th>Rows</th><th>Why it stopped</th></tr></thead><tbody></tbody></table></div>
<h2>A reader you can abort</h2>
<p><button id="start">Start a fetch reader</button> <button id="abort" disabled>Abort it</button></p>
<p id="reader" aria-live="polite">No reader yet.</p>
<script>${SCRIPT}</script>`, {
      note: `<p>The table is fed by <code>sse()</code> from <a href="state">/disconnect/state</a>, a snapshot at every change. When the browser closes the connection, Drupe aborts <code>request.signal</code> (reason <code>DRUPE_CLIENT_CLOSED</code>); the producer's <code>sleep(${ROW_MS}, request.signal)</code> rejects at once instead of at the next row, and its <code>finally</code> marks it stopped with the reason — and how long after the abort that ran. No orphaned loop keeps counting for nobody.</p>
<p>More source: <a href="/source/disconnect.ts/stream">the producer</a>, <a href="/source/disconnect.ts/producers">the registry</a>.</p>`,
      source: 'disconnect.ts#state',
    });
  }
  // #endregion
}

// The page's script: plain JS, run in the browser (no build step).
const SCRIPT = String.raw`
const $ = (s) => document.querySelector(s);
const body = $('#producers tbody');
const events = new EventSource('state');
events.addEventListener('open', () => { $('#feed').textContent = 'Live: updated at every change.'; });
events.addEventListener('error', () => { $('#feed').textContent = 'Reconnecting…'; });
events.addEventListener('state', (e) => {
  const rows = JSON.parse(e.data).map((p) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(p.id);
    tr.dataset.state = p.state;
    tr.dataset.count = String(p.count);
    const why = p.reason === undefined ? '' : p.reason + (p.afterAbortMs === undefined ? '' : ' (finally ran ' + p.afterAbortMs.toFixed(1) + ' ms after the abort)');
    for (const text of [String(p.id), p.reader, p.state, String(p.count), why]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    tr.children[2].className = p.state === 'running' ? 'ok' : 'muted';
    tr.children[4].className = 'reason';
    return tr;
  });
  body.replaceChildren(...rows);
});

let reading;
$('#start').addEventListener('click', async () => {
  const out = $('#reader');
  reading = new AbortController();
  $('#start').disabled = true;
  $('#abort').disabled = false;
  const decoder = new TextDecoder();
  let last = '';
  try {
    const res = await fetch('stream?as=text', { signal: reading.signal, cache: 'no-store' });
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) { out.textContent = 'The stream ended (' + last + ').'; break; }
      const lines = decoder.decode(value, { stream: true }).trim().split('\n');
      last = lines[lines.length - 1];
      if (last.startsWith('producer ')) out.dataset.id = last.slice(9);
      out.dataset.last = last;
      out.textContent = 'Reading from producer ' + out.dataset.id + ': ' + last;
    }
  } catch (err) {
    out.dataset.aborted = err.name;
    out.textContent = 'Aborted (' + err.name + ') after ' + last + '. Producer ' + out.dataset.id + ' should now show as stopped.';
  }
  $('#start').disabled = false;
  $('#abort').disabled = true;
});
$('#abort').addEventListener('click', () => reading.abort());
`;
