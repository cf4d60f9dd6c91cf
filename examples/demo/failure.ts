import { expose, sleep, type Context } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

// #region report
const LINES = 5;
const FAILS_AT = 4;

/** A report whose data source fails while producing line 4 of 5. */
async function* report(signal: AbortSignal): AsyncGenerator<string> {
  for (let n = 1; n <= LINES; n++) {
    if (n === FAILS_AT) throw new Error(`the data source failed while producing line ${n} of ${LINES}`);
    yield `line ${n} of ${LINES}\n`;
    await sleep(300, signal);
  }
}
// #endregion

// Runs in the page: fetch each failure and show what the browser's reader reports.
const SCRIPT = `<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const settle = (el, outcome, text) => { el.dataset.outcome = outcome; el.className = outcome === 'complete' ? 'ok' : 'error'; el.textContent = text; };
  $('run-stream').addEventListener('click', async () => {
    $('stream-text').textContent = ''; $('stream-chunks').textContent = '0'; $('stream-outcome').removeAttribute('data-outcome');
    const res = await fetch('/failure/stream');
    $('stream-status').textContent = res.status + ' ' + res.statusText + (res.headers.get('content-length') === null ? ', no Content-Length' : '');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let chunks = 0;
    for (;;) {
      let step;
      try {
        step = await reader.read();
      } catch (err) {
        settle($('stream-outcome'), 'error', 'reader.read() rejected after ' + chunks + ' chunk' + (chunks === 1 ? '' : 's') + ': ' + err.name + ': ' + err.message);
        return;
      }
      if (step.done) { settle($('stream-outcome'), 'complete', 'reader.read() reported the end: the response looks complete.'); return; }
      chunks += 1;
      $('stream-chunks').textContent = String(chunks);
      $('stream-text').textContent += decoder.decode(step.value, { stream: true });
    }
  });
  $('run-buffered').addEventListener('click', async () => {
    $('buffered-outcome').removeAttribute('data-outcome');
    const res = await fetch('/failure/buffered');
    $('buffered-status').textContent = res.status + ' ' + res.statusText + ', Content-Length ' + res.headers.get('content-length');
    try {
      const html = await res.text();
      const doc = new DOMParser().parseFromString(html, 'text/html');
      settle($('buffered-outcome'), 'complete', 'Read to its end: a complete error page, "' + doc.querySelector('h1')?.textContent + ': ' + doc.querySelector('.error')?.textContent + '"');
    } catch (err) {
      settle($('buffered-outcome'), 'error', 'Reading failed: ' + err.name + ': ' + err.message);
    }
  });
})();
</script>`;

export class Failure {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Failure made visible', `<h1>Failure made visible</h1>
<p>The same report, whose data source fails at line ${FAILS_AT} of ${LINES}, sent two ways.</p>
<div class="pair">
<section class="panel"><h2>Streamed: fails after it started</h2>
<p><button id="run-stream" type="button">Fetch /failure/stream</button></p>
<p>Status: <b id="stream-status">–</b> · chunks read: <b id="stream-chunks">0</b></p>
<pre id="stream-text" aria-label="what the reader received"></pre>
<p id="stream-outcome" aria-live="polite"></p>
<p class="muted">Or <a href="/failure/stream">open the stream as a page</a>.</p></section>
<section class="panel"><h2>Buffered: fails before anything was sent</h2>
<p><button id="run-buffered" type="button">Fetch /failure/buffered</button></p>
<p>Status: <b id="buffered-status">–</b></p>
<p id="buffered-outcome" aria-live="polite"></p>
<p class="muted">Or <a href="/failure/buffered">open the 500 page</a>.</p></section>
</div>${SCRIPT}`, {
      note: `<p><b>Streamed</b>, the status line (200) and the first lines are on their way before the generator throws, so the error can no longer become an error page. Drupe logs it with its stack (the access log line ends <code>outcome=error</code>), writes what was produced, adds one last line saying the stream failed (<code>response.onStreamError</code>), then cuts the connection without the chunked terminator. The browser cannot take that for a complete response: <code>fetch</code>'s reader rejects, and the browser's console reports <code>ERR_INCOMPLETE_CHUNKED_ENCODING</code>. (curl shows the last line; Chromium, which gets it together with the cut, may drop it.) A short body that ends cleanly would look complete: that is the failure Drupe refuses to hide.</p>
<p><b>Buffered</b> (the default), the generator runs to its end before anything is sent, so the same failure becomes a real 500 page with a <code>Content-Length</code>. The stack is in the server's log; the page shows the error's message here because the demo runs in development, and only a generic one in production (<code>request.show_tracebacks</code>). The handlers below share <a href="/source/failure.ts/report">one generator</a>.</p>`,
      source: 'failure.ts#index',
    });
  }

  /** The report streamed: 200 and three lines, then a visible cut. */
  @expose({ 'response.stream': true })
  stream({ request, response }: Context): AsyncGenerator<string> {
    response.headers.set('Content-Type', 'text/plain;charset=utf-8');
    // One last in-band line before the cut, for a person reading the body (the cut is what a program sees).
    response.onStreamError = () => '[the server failed here: this response is cut short, not complete]\n';
    return report(request.signal);
  }

  /** The same report buffered: the failure becomes a 500 page. */
  @expose()
  buffered({ request }: Context): AsyncGenerator<string> {
    return report(request.signal);
  }
  // #endregion
}
