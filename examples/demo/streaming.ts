import { HTTPError, abortable, expose, json, sleep, type Context, type ParamValue } from '../../src/index.js';
import { pageEnd, pageStart, type PageParts } from './layout.js';
import type { DemoOptions } from './options.js';

// #region hold
/**
 * `?hold=name` parks a page's slow rows until POST /streaming/release?hold=name (or a minute
 * passes), so a page can be looked at while it is provably still loading: the browser test does
 * exactly that. Bounded: a few holds at once, each name once.
 */
class Hold {
  waiting = false;
  readonly #released: Promise<void>;
  #release!: () => void;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#released = new Promise<void>((resolve) => { this.#release = resolve; });
    this.#timer = setTimeout(() => this.release(), 60_000);
    this.#timer.unref();
  }

  release(): void {
    clearTimeout(this.#timer);
    this.waiting = false;
    this.#release();
  }

  /** Wait for the release; a disconnect ends the wait at once. */
  async wait(signal: AbortSignal): Promise<void> {
    this.waiting = true;
    await abortable(this.#released, signal);
  }
}

const HOLD_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const MAX_HOLDS = 16;

class Holds {
  readonly #held = new Map<string, Hold>();

  /** A name from the query, checked; undefined when the page is not held. */
  static parse(value: ParamValue | undefined): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !HOLD_NAME.test(value)) throw new HTTPError(400, 'hold is 1 to 40 letters, digits, - or _');
    return value;
  }

  take(name: string): Hold {
    if (this.#held.has(name)) throw new HTTPError(409, `The hold ${name} is in use`);
    if (this.#held.size >= MAX_HOLDS) throw new HTTPError(503, 'Too many held pages at once; release one');
    const hold = new Hold();
    this.#held.set(name, hold);
    return hold;
  }

  get(name: string): Hold | undefined {
    return this.#held.get(name);
  }

  drop(name: string, hold: Hold): void {
    hold.release();
    if (this.#held.get(name) === hold) this.#held.delete(name);
  }
}
// #endregion

const FIRST_ROWS = 3;
const SLOW_ROWS = 6;
const SLOW_ROW_MS = 350;

// Runs in the page: the browser's own first-contentful-paint, and when the last row was parsed.
const TIMING_SCRIPT = `<script>
(() => {
  const show = (id, ms) => { const el = document.getElementById(id); if (el) el.textContent = Math.round(ms) + ' ms'; };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') show('first-paint', e.startTime);
  }).observe({ type: 'paint', buffered: true });
  addEventListener('DOMContentLoaded', () => show('last-row', performance.now()));
})();
</script>`;

const PARTS: Record<'streamed' | 'buffered', PageParts> = {
  streamed: {
    head: TIMING_SCRIPT,
    source: 'streaming.ts#page',
    note: `<p>The header, the first ${FIRST_ROWS} rows and the timing line arrive in the first chunk and are painted at once; each slow row follows as the generator produces it (one every ${SLOW_ROW_MS} ms). <b>First paint</b> is the browser's own first-contentful-paint; <b>last row</b> is when the document finished parsing. On the <a href="/streaming/buffered">buffered page</a> the same generator runs to its end before the first byte is sent, so both numbers are about the same.</p>
<p>Headers wait for the first chunk (lazy commit): a generator that fails before its first <code>yield</code> still becomes a proper error page. Add <code>?hold=name</code> and the slow rows wait until <code>POST /streaming/release?hold=name</code>; the browser test uses it to look at a page that is provably still loading (<a href="/source/streaming.ts/hold">the hold</a>, <a href="/source/streaming.ts/release">its endpoints</a>).</p>`,
  },
  buffered: {
    head: TIMING_SCRIPT,
    source: 'streaming.ts#page',
    note: `<p>The same generator as the <a href="/streaming/">streamed page</a>, without <code>response.stream</code>: Drupe runs it to its end and sends one response with a <code>Content-Length</code>. Nothing can be painted before the last row exists, so <b>first paint</b> comes about as late as <b>last row</b>. In exchange, an error anywhere in the generator still becomes an error page.</p>`,
  },
};

// #region page
/**
 * The page: head and first rows in one chunk at once, then each slow row as it is produced.
 * Streamed, the browser shows every chunk as it arrives; buffered, the same generator is run to its
 * end before anything is sent.
 */
async function* rowsPage(kind: 'streamed' | 'buffered', signal: AbortSignal, hold: Hold | undefined): AsyncGenerator<string> {
  const started = performance.now();
  const row = (n: number, from: string): string =>
    `<li data-row="${n}"><b>Row ${n}</b> ${from} <span class="when">produced at +${Math.round(performance.now() - started)} ms</span></li>\n`;
  const other = kind === 'streamed' ? ['/streaming/buffered', 'the same page, buffered'] : ['/streaming/', 'the same page, streamed'];
  let first = pageStart(`Streamed HTML (${kind})`, PARTS[kind]) + `<h1>Streamed HTML <small>(${kind})</small></h1>
<p class="timing">First paint: <b id="first-paint">…</b> · last row: <b id="last-row">…</b> · compare with <a href="${other[0]}">${other[1]}</a></p>
<ol id="rows" class="rows">\n`;
  for (let n = 1; n <= FIRST_ROWS; n++) first += row(n, 'from the cache');
  yield first;
  if (hold !== undefined) await hold.wait(signal);
  for (let n = FIRST_ROWS + 1; n <= FIRST_ROWS + SLOW_ROWS; n++) {
    await sleep(SLOW_ROW_MS, signal); // a slow query; a closed tab rejects it at once
    yield row(n, 'from a slow query');
  }
  yield '</ol>\n' + pageEnd(PARTS[kind]);
}

export class Streaming {
  readonly #holds = new Holds();

  constructor(readonly options: DemoOptions) {}

  @expose({ 'response.stream': true })
  async *index({ request, params }: Context): AsyncGenerator<string> {
    yield* this.#page('streamed', request.signal, Holds.parse(params.hold));
  }

  @expose()
  async *buffered({ request, params }: Context): AsyncGenerator<string> {
    yield* this.#page('buffered', request.signal, Holds.parse(params.hold));
  }

  async *#page(kind: 'streamed' | 'buffered', signal: AbortSignal, holdName: string | undefined): AsyncGenerator<string> {
    // Taken before the first yield: a bad or busy name is still a plain 4xx page (lazy commit).
    const hold = holdName === undefined ? undefined : this.#holds.take(holdName);
    try {
      yield* rowsPage(kind, signal, hold);
    } finally {
      if (hold !== undefined && holdName !== undefined) this.#holds.drop(holdName, hold);
    }
  }
  // #endregion

  // #region release
  /** POST /streaming/release?hold=name: let a held page's slow rows go. */
  @expose()
  release({ request, params }: Context): unknown {
    if (request.method !== 'POST') throw new HTTPError(405, 'Use POST');
    const name = Holds.parse(params.hold) ?? '';
    const hold = this.#holds.get(name);
    if (hold === undefined) throw new HTTPError(404, `No page is held as ${name}`);
    hold.release();
    return json({ released: name });
  }

  /** GET /streaming/held?hold=name: whether that page's generator is parked at its hold now. */
  @expose()
  held({ params }: Context): unknown {
    const name = Holds.parse(params.hold) ?? '';
    return json({ waiting: this.#holds.get(name)?.waiting ?? false });
  }
  // #endregion
}
