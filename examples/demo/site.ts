import { randomBytes } from 'node:crypto';
import { App, HTTPError, HTTPRedirect, expose, json, type Config, type Context } from '../../src/index.js';
import { Account, accountSections } from './account.js';
import { Chat } from './chat.js';
import { Notes, apiSections } from './api.js';
import { Disconnect } from './disconnect.js';
import { Downloads } from './downloads.js';
import { Failure } from './failure.js';
import { escape, page } from './layout.js';
import { Live } from './live.js';
import { NotesPage } from './notes.js';
import type { DemoOptions } from './options.js';
import { Source, staticDir } from './source.js';
import { Streaming } from './streaming.js';

// #region blog
/** Object-tree dispatch: /blog/ is `index`, /blog/2024/05 reaches `default` with args ['2024', '05']. */
class Blog {
  @expose()
  index(): string {
    return page('Blog', '<h1>Blog</h1><ul><li><a href="/blog/2024/05">May 2024</a></li><li><a href="/blog/2025/01">January 2025</a></li></ul>', {
      note: '<p>Each URL segment is an attribute of an ordinary object: <code>/blog/</code> is <code>Blog.index</code>. A path the tree does not have reaches <code>default</code> with the remaining segments as <code>args</code> (CherryPy\'s way).</p>',
      source: 'site.ts#blog',
    });
  }

  @expose()
  default({ args }: Context): string {
    const [year, month] = args;
    if (year === undefined || !/^\d{4}$/.test(year)) throw new HTTPError(404, `No archive for ${args.join('/')}`);
    return page(`Archive ${year}`, `<h1>Archive ${escape(year)}${month ? '/' + escape(month) : ''}</h1><p><code>args</code> were <code>${escape(JSON.stringify(args))}</code>.</p>`, {
      note: '<p>No method is called <code>2024</code>: <code>default</code> took the rest of the path as arguments. Try <a href="/blog/nope">/blog/nope</a> for its 404.</p>',
      source: 'site.ts#blog',
    });
  }
}
// #endregion

// #region guestbook
/** A form that posts, a redirect after the POST (303), and what visitors typed shown escaped. */
class Guestbook {
  entries: string[] = ['First!'];

  @expose()
  index(): string {
    const items = this.entries.map((e) => `<li>${escape(e)}</li>`).join('');
    return page('Guestbook', `<h1>Guestbook</h1><ul id="entries">${items}</ul>
<form method="post" action="/guestbook/sign"><input name="message" required maxlength="200" aria-label="message"> <button>Sign</button></form>`, {
      note: '<p>The form posts to <code>/guestbook/sign</code>, which answers with a redirect (303) back here: reloading the page never posts twice. Whatever you type is escaped when shown; try <code>&lt;b&gt;</code>.</p>',
      source: 'site.ts#guestbook',
    });
  }

  @expose()
  sign({ request, params }: Context): never {
    if (request.method !== 'POST') throw new HTTPError(405, 'Use the form');
    const message = typeof params.message === 'string' ? params.message.trim() : '';
    if (message === '' || message.length > 200) throw new HTTPError(400, 'A message is 1 to 200 characters');
    this.entries.push(message);
    throw new HTTPRedirect('/guestbook/');
  }

  @expose()
  entries_json(): unknown {
    return json(this.entries);
  }
}
// #endregion

const DEMOS: ReadonlyArray<readonly [string, string, string]> = [
  ['/streaming/', 'Streamed HTML', 'the head and first rows arrive at once, slow rows follow; next to the same page buffered.'],
  ['/live/', 'Live feed', 'server-sent events shared by every viewer; drop the connection and it resumes from Last-Event-ID with no gap.'],
  ['/failure/', 'Failure made visible', 'a stream that fails after it started is cut so the browser sees an error, never a short "complete" page.'],
  ['/downloads/', 'Downloads and uploads', 'a file with Range, ETag and gzip; an upload with a progress bar and its checksum.'],
  ['/disconnect/', 'Disconnect', 'close a long stream and watch its producer stop within a moment.'],
  ['/blog/', 'Blog', 'object-tree dispatch, with the rest of the path as arguments.'],
  ['/guestbook/', 'Guestbook', 'a form, a redirect after POST, escaped output.'],
  ['/account/', 'Sessions', 'a login, a per-visitor counter, signed cookies.'],
  ['/chat/', 'Chat', 'a WebSocket endpoint dispatched through the tree like any handler.'],
  ['/notes/', 'A typed JSON API', 'validated input, problem+json errors, an OpenAPI document built from the tree.'],
  ['/secret', 'An error page', 'a 403 raised by a handler, shown as a page.'],
];

export class Root {
  readonly blog = new Blog();
  readonly guestbook = new Guestbook();
  readonly account = new Account();
  /** A JSON API: zod schemas, its OpenAPI document, errors as problem+json (api.ts). */
  readonly api = { notes: new Notes() };
  readonly streaming: Streaming;
  readonly live: Live;
  readonly failure: Failure;
  readonly downloads: Downloads;
  readonly disconnect: Disconnect;
  readonly chat = new Chat();
  readonly notes = new NotesPage();
  readonly source = new Source();

  constructor(options: DemoOptions) {
    this.streaming = new Streaming(options);
    this.live = new Live(options);
    this.failure = new Failure(options);
    this.downloads = new Downloads(options);
    this.disconnect = new Disconnect(options);
  }

  // #region home
  @expose()
  index(): string {
    const demos = DEMOS.map(([href, title, what]) => `<li><a href="${href}">${title}</a> — ${what}</li>`).join('');
    return page('Drupe', `<h1>Drupe</h1>
<p class="lede">A web framework for Node.js where an application is a tree of ordinary objects, configuration follows the tree, and tools hook into each request's life.
Its response bodies are buffered by default and streamed on request — and a stream stays correct when things go wrong: headers wait for the first chunk, the client's pace is respected, a failure is visible, a disconnect stops the work.
Each page below shows one of those, live, with the handler's own source.</p>
<ul class="demos">${demos}</ul>`, { source: 'site.ts#home' });
  }
  // #endregion

  @expose()
  old_home(): never {
    throw new HTTPRedirect('/', 301);
  }

  @expose()
  secret(): never {
    throw new HTTPError(403, 'This page is <b>private</b>.');
  }
}

export const sections: Record<string, Config> = {
  '/': {
    // A page for browsers; an API client (the problem form: /api, or an Accept preferring JSON) gets Drupe's problem document.
    'error_page.default': ({ status, message, format }) => (format === 'problem' ? {} : page(`${status}`, `<h1>${status}</h1><p class="error">${escape(message)}</p>`)),
  },
  '/static': { 'tools.staticdir.on': true, 'tools.staticdir.dir': staticDir, 'tools.etags.on': true, 'tools.expires.on': true, 'tools.expires.secs': 300 },
  ...accountSections,
  ...apiSections,
};

/**
 * The server-wide config: a signing key for signed cookies, made fresh at
 * each start (a real site reads its keys from its config, so that cookies
 * survive a restart and every process shares them).
 */
export const globalConfig: Config = { 'server.secret_keys': [randomBytes(32).toString('base64url')] };

export function demoApp(options: DemoOptions): App {
  const app = new App(new Root(options), sections);
  app.configure(globalConfig);
  return app;
}
