import { randomBytes } from 'node:crypto';
import { App, HTTPError, HTTPRedirect, expose, json, type Config, type Context } from '../../src/index.js';
import { Account, accountSections } from './account.js';
import { Notes, apiSections } from './api.js';

function layout(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body><nav><a href="/">Home</a> · <a href="/blog/">Blog</a> · <a href="/guestbook/">Guestbook</a> · <a href="/account/">Account (sessions)</a> · <a href="/api/openapi.json">API (OpenAPI)</a> · <a href="/clock">Clock (streamed)</a> · <a href="/old-home">A redirect</a> · <a href="/secret">An error</a></nav>
${body}</body></html>`;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

class Blog {
  @expose()
  index(): string {
    return layout('Blog', '<h1>Blog</h1><ul><li><a href="/blog/2024/05">May 2024</a></li><li><a href="/blog/2025/01">January 2025</a></li></ul>');
  }

  /** Catches /blog/<year>/<month>: the remaining segments arrive as `args`. */
  @expose()
  default({ args }: Context): string {
    const [year, month] = args;
    if (year === undefined || !/^\d{4}$/.test(year)) throw new HTTPError(404, `No archive for ${args.join('/')}`);
    return layout(`Archive ${year}`, `<h1>Archive ${escape(year)}${month ? '/' + escape(month) : ''}</h1>`);
  }
}

class Guestbook {
  entries: string[] = ['First!'];

  @expose()
  index(): string {
    const items = this.entries.map((e) => `<li>${escape(e)}</li>`).join('');
    return layout('Guestbook', `<h1>Guestbook</h1><ul>${items}</ul>
<form method="post" action="/guestbook/sign"><input name="message" required> <button>Sign</button></form>`);
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

export class Root {
  blog = new Blog();
  guestbook = new Guestbook();
  account = new Account();
  /** A JSON API: zod schemas, its OpenAPI document, errors as problem+json (api.ts). */
  api = { notes: new Notes() };

  @expose()
  index({ params }: Context): string {
    const name = typeof params.name === 'string' ? params.name : 'world';
    return layout('Drupe demo', `<h1>Hello ${escape(name)}</h1><form><input name="name" placeholder="your name"> <button>Greet</button></form>`);
  }

  /** The seed's example: a generator, streamed — each line reaches the browser as it is produced. */
  @expose({ 'response.stream': true })
  async *clock({ response, request }: Context): AsyncGenerator<string> {
    response.headers.set('Content-Type', 'text/plain;charset=utf-8');
    for (let i = 0; i < 5 && !request.signal.aborted; i++) {
      yield `${new Date().toISOString()}\n`;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

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
    'error_page.404': ({ status, message, format }) => (format === 'problem' ? {} : layout('Not found', `<h1>${status}: nothing here</h1><p>${escape(message)}</p>`)),
  },
  ...accountSections,
  ...apiSections,
};

/**
 * The server-wide config: a signing key for signed cookies, made fresh at
 * each start (a real site reads its keys from its config, so that cookies
 * survive a restart and every process shares them).
 */
export const globalConfig: Config = { 'server.secret_keys': [randomBytes(32).toString('base64url')] };

export function demoApp(): App {
  const app = new App(new Root(), sections);
  app.configure(globalConfig);
  return app;
}
