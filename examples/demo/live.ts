import { randomBytes } from 'node:crypto';
import { HTTPError, abortable, expose, json, sse, type Context, type ParamValue, type SseMessage } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

// #region clock
interface Tick {
  readonly id: number;
  readonly at: string;
}

/** Ticks kept for viewers who reconnect: two minutes of them. */
const KEPT = 120;

/**
 * One clock for every viewer: a tick a second (started by the first viewer, then kept running, its
 * timer unref'd so it never holds the process), the last ticks kept so that a viewer who comes
 * back with a Last-Event-ID gets the ones it missed.
 */
class Clock {
  readonly #kept: Tick[] = [];
  #timer: NodeJS.Timeout | undefined;
  #next!: Promise<void>;
  #wake!: () => void;

  constructor(readonly intervalMs: number) {
    this.#arm();
  }

  /** The newest tick's id (0 before the first). */
  get last(): number {
    return this.#kept.at(-1)?.id ?? 0;
  }

  /** Settles at the next tick. */
  get next(): Promise<void> {
    return this.#next;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  /** The ticks after `id`, or undefined when some of them are no longer kept. */
  after(id: number): Tick[] | undefined {
    const first = this.#kept[0];
    if (first === undefined || id >= this.last) return [];
    if (id < first.id - 1) return undefined;
    return this.#kept.slice(id - first.id + 1);
  }

  #tick(): void {
    this.#kept.push({ id: this.last + 1, at: new Date().toISOString() });
    if (this.#kept.length > KEPT) this.#kept.shift();
    const wake = this.#wake;
    this.#arm();
    wake();
  }

  #arm(): void {
    this.#next = new Promise<void>((resolve) => { this.#wake = resolve; });
  }
}
// #endregion

// #region feed
/**
 * One viewer's events: a `hello` saying what the server was told (no id, so the browser's last
 * event id stays that of the last tick), the ticks it missed if it came back with a Last-Event-ID,
 * then each tick as it happens, until the viewer leaves or asks for its connection to be dropped.
 */
async function* feed(clock: Clock, lastEventId: number | undefined, dropped: AbortSignal, signal: AbortSignal): AsyncGenerator<SseMessage> {
  const stop = AbortSignal.any([signal, dropped]);
  // A new viewer, or one whose id this clock never sent (it restarted since), starts at the newest tick.
  const resumed = lastEventId !== undefined && lastEventId <= clock.last;
  let sent = resumed ? lastEventId : clock.last - 1;
  const replayed = resumed ? clock.after(sent)?.length ?? 0 : 0;
  yield { event: 'hello', data: { lastEventId: lastEventId ?? null, resumed, replayed } };
  for (;;) {
    const ticks = clock.after(sent);
    if (ticks === undefined) {
      // Gone too long: say so rather than pretend the feed is whole.
      const oldest = clock.last - KEPT + 1;
      yield { event: 'gap', data: { from: sent + 1, to: oldest - 1 } };
      sent = oldest - 1;
      continue;
    }
    for (const tick of ticks) {
      yield { event: 'tick', id: String(tick.id), data: tick };
      sent = tick.id;
    }
    // Wait for the next tick, a drop (the stream then ends cleanly), or the viewer leaving.
    try {
      await abortable(clock.next, stop);
    } catch (err) {
      if (dropped.aborted) return;
      throw err;
    }
  }
}
// #endregion

const VIEWER = /^[A-Za-z0-9_-]{8,64}$/;

function viewerOf(value: ParamValue | undefined): string {
  if (typeof value !== 'string' || !VIEWER.test(value)) throw new HTTPError(400, 'viewer is 8 to 64 letters, digits, - or _');
  return value;
}

// Runs in the page: the EventSource, the ids it received, the connections the server reported.
const SCRIPT = `<script>
(() => {
  const viewer = document.getElementById('live').dataset.viewer;
  const $ = (id) => document.getElementById(id);
  const state = (text) => { $('state').textContent = text; };
  // Read by the browser test; shown below as chips.
  const feed = window.liveFeed = { ids: [], hellos: [] };
  let replaying = 0;
  const source = new EventSource('/live/events?viewer=' + viewer);
  source.onopen = () => state('connected');
  source.onerror = () => state(source.readyState === EventSource.CONNECTING ? 'reconnecting…' : 'closed');
  source.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    feed.hellos.push(hello);
    replaying = hello.replayed;
    const li = document.createElement('li');
    const n = 'Connection ' + feed.hellos.length + ': ';
    li.textContent = hello.lastEventId === null ? n + 'a new viewer, started at the newest tick.'
      : !hello.resumed ? n + 'the browser sent Last-Event-ID ' + hello.lastEventId + ', which this clock never sent (it restarted); started at the newest tick.'
      : n + 'the browser sent Last-Event-ID ' + hello.lastEventId + '; the server replayed ' + hello.replayed + ' tick' + (hello.replayed === 1 ? '' : 's') + ' it missed.';
    $('connections').append(li);
  });
  source.addEventListener('gap', (e) => {
    const gap = JSON.parse(e.data);
    const li = document.createElement('li');
    li.className = 'error';
    li.textContent = 'Ticks ' + gap.from + ' to ' + gap.to + ' are no longer kept: they are lost.';
    $('connections').append(li);
  });
  source.addEventListener('tick', (e) => {
    const tick = JSON.parse(e.data);
    feed.ids.push(tick.id);
    $('time').textContent = new Date(tick.at).toLocaleTimeString();
    $('tick').textContent = e.lastEventId;
    const chip = document.createElement('li');
    chip.textContent = e.lastEventId;
    if (replaying > 0) { chip.className = 'replayed'; replaying -= 1; }
    $('ticks').append(chip);
    while ($('ticks').children.length > 60) $('ticks').firstElementChild.remove();
  });
  $('drop').addEventListener('click', async () => {
    const res = await fetch('/live/drop?viewer=' + viewer, { method: 'POST' });
    if (!res.ok) { state('drop refused: ' + res.status); return; }
    const li = document.createElement('li');
    li.textContent = 'Dropped by the server after tick ' + feed.ids.at(-1) + '; the browser reconnects by itself.';
    $('connections').append(li);
  });
})();
</script>`;

export class Live {
  readonly #clock = new Clock(1000);
  /** Each open feed's drop switch, by viewer. */
  readonly #open = new Map<string, Set<AbortController>>();

  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    const viewer = randomBytes(12).toString('base64url');
    return page('Live feed', `<h1>Live feed</h1>
<div id="live" class="live" data-viewer="${viewer}">
<p class="clock"><span id="time">--:--:--</span> <span class="muted">tick <b id="tick">–</b></span></p>
<p>Connection: <b id="state">connecting…</b> <button id="drop" type="button">Drop the connection</button></p>
<ol id="ticks" class="ticks" aria-label="tick ids received"></ol>
<h2>Connections</h2><ul id="connections"></ul>
</div>${SCRIPT}`, {
      note: `<p>One clock ticks for every viewer; each tick is a server-sent event with an <code>id</code>. <b>Drop the connection</b> asks the server to end this tab's stream. The browser's <code>EventSource</code> then reconnects by itself after the <code>retry</code> the server sent, with a <code>Last-Event-ID</code> header naming the last tick it saw; the server replays the ticks it missed (the filled ones) and goes on. The tick ids run on with no gap.</p>
<p>The drop has to come from the server: a new <code>EventSource</code> made by the page would not send <code>Last-Event-ID</code>. Open this page in two tabs: they show the same ticks. The code: <a href="/source/live.ts/clock">the clock</a>, <a href="/source/live.ts/feed">one viewer's feed</a>.</p>`,
      source: 'live.ts#index',
    });
  }

  /** GET /live/events?viewer=…: the feed (an EventSource reconnects here with Last-Event-ID). */
  @expose()
  events({ request, params }: Context): unknown {
    const viewer = viewerOf(params.viewer);
    const header = request.lastEventId;
    if (header !== undefined && header !== '' && !/^\d{1,15}$/.test(header)) throw new HTTPError(400, 'Last-Event-ID is a tick number');
    const lastEventId = header === undefined || header === '' ? undefined : Number(header);
    this.#clock.start();
    return sse(this.#follow(viewer, lastEventId, request.signal), { retry: 1000 });
  }

  /** POST /live/drop?viewer=…: end that viewer's open stream, cleanly, from the server's side. */
  @expose()
  drop({ request, params }: Context): unknown {
    if (request.method !== 'POST') throw new HTTPError(405, 'Use POST');
    const viewer = viewerOf(params.viewer);
    const ends = this.#open.get(viewer);
    if (ends === undefined) throw new HTTPError(404, 'No open feed for that viewer');
    for (const drop of ends) drop.abort();
    return json({ dropped: ends.size });
  }

  async *#follow(viewer: string, lastEventId: number | undefined, signal: AbortSignal): AsyncGenerator<SseMessage> {
    const drop = new AbortController();
    // Registered inside the generator, so its finally always unregisters it.
    const ends = this.#open.get(viewer) ?? new Set<AbortController>();
    this.#open.set(viewer, ends);
    ends.add(drop);
    try {
      yield* feed(this.#clock, lastEventId, drop.signal, signal);
    } finally {
      ends.delete(drop);
      if (ends.size === 0) this.#open.delete(viewer);
    }
  }
  // #endregion

  /** GET /live/now: the newest tick's id. */
  @expose()
  now(): unknown {
    return json({ last: this.#clock.last });
  }
}
