// tools.accept (CherryPy's, issue 18 part 3) over real sockets: the preferred
// type of `media`, acceptedMedia, the 406 (HOSTILE 62) and the bounded Accept (HOSTILE 61).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, DrupeError, acceptedMedia, exposed, type Config, type Context } from '../src/index.js';
import { one } from './helpers/http.js';
import { get, start } from './helpers/server.js';

const BOTH: Config = { 'tools.accept.on': true, 'tools.accept.media': ['text/csv', 'application/json'] };

function root(): Record<string, unknown> {
  const page = exposed(({ request }: Context) => `chose ${String(acceptedMedia(request))}`);
  return { report: page, single: page, off: page, bare: page };
}

async function chose(port: number, path: string, accept?: string): Promise<{ status: number; body: string; vary: string | undefined }> {
  const res = await one(port, 'GET', path, accept === undefined ? {} : { Accept: accept });
  return { status: res.status, body: res.body.toString(), vary: res.headers.vary };
}

test('the client\'s preferred type of media, readable with acceptedMedia; a wildcard matching several goes to the earlier type; Vary: Accept', async (t) => {
  const server = await start(t, root(), {
    '/report': BOTH,
    '/single': { 'tools.accept.on': true, 'tools.accept.media': 'text/csv' },
  });
  const cases: [string | undefined, string][] = [
    [undefined, 'text/csv'], // no Accept: anything, so the first
    ['', 'text/csv'], // blank: the same (CherryPy)
    ['application/json', 'application/json'],
    ['*/*', 'text/csv'],
    ['application/*', 'application/json'],
    ['text/*;q=0.5, application/json', 'application/json'],
    ['text/csv;q=0, */*;q=0.1', 'application/json'],
    ['application/json;q=0.9, text/csv', 'text/csv'],
    ['TEXT/CSV', 'text/csv'],
    ['application/json, text/csv', 'application/json'], // equal q: the header's order, as in CherryPy
  ];
  for (const [accept, type] of cases) {
    const r = await chose(server.port, '/report', accept);
    assert.equal(r.status, 200, String(accept));
    assert.equal(r.body, `chose ${type}`, String(accept));
    assert.equal(r.vary, 'Accept', String(accept));
  }
  const single = await chose(server.port, '/single', 'text/csv');
  assert.equal(single.body, 'chose text/csv');
  assert.equal(single.vary, undefined, 'one type: nothing to vary');
  // Where the tool is off, nothing was chosen.
  assert.equal((await chose(server.port, '/off', 'text/csv')).body, 'chose undefined');
});

test('406 when nothing in media is acceptable: the message names the client\'s Accept and the types sent; a problem for a JSON client', async (t) => {
  const server = await start(t, root(), { '/report': BOTH });
  const html = await get(server.url + '/report', { headers: { Accept: 'text/html' } });
  assert.equal(html.status, 406);
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(html.text.includes('Your client sent this Accept header: text/html. But this resource only emits these media types: text/csv, application/json.'), html.text);

  const refused = await get(server.url + '/report', { headers: { Accept: 'application/json;q=0, application/problem+json' } });
  assert.equal(refused.status, 406);
  assert.equal(refused.headers.get('content-type'), 'application/problem+json');
  const p = JSON.parse(refused.text) as { status: number; title: string; detail: string };
  assert.equal(p.status, 406);
  assert.equal(p.title, 'Not Acceptable');
  assert.match(p.detail, /only emits these media types: text\/csv, application\/json\.$/);

  const handlerNeverRan = await one(server.port, 'POST', '/report', { Accept: 'image/png', 'Content-Type': 'text/plain' }, { body: 'x' });
  assert.equal(handlerNeverRan.status, 406, 'on_start_resource: before the body is read');
});

test('HOSTILE 62: an Accept header echoed in the 406 is escaped on the HTML page and JSON-encoded in a problem', async (t) => {
  const server = await start(t, root(), { '/report': BOTH });
  const evil = '<script>alert("x")</script>/x, <img src=x onerror=alert(1)>/y';
  const html = await get(server.url + '/report', { headers: { Accept: evil } });
  assert.equal(html.status, 406);
  assert.ok(!html.text.includes('<script>'), html.text);
  assert.ok(!html.text.includes('<img'), html.text);
  assert.ok(html.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;/x'), html.text);

  const withJson = `${evil}, application/problem+json`;
  const json = await get(server.url + '/report', { headers: { Accept: withJson } });
  assert.equal(json.status, 406);
  assert.ok(!json.text.includes('<'), json.text);
  assert.ok((JSON.parse(json.text) as { detail: string }).detail.includes(withJson));
});

test('HOSTILE 61: an Accept over 1 KiB is a 400 naming the limit, at once; many ranges within it are negotiated', async (t) => {
  const server = await start(t, root(), { '/report': BOTH });
  const huge = 'a/b;q=0.1,'.repeat(200) + 'application/json';
  const res = await one(server.port, 'GET', '/report', { Accept: huge });
  assert.equal(res.status, 400);
  assert.ok(res.body.toString().includes('The Accept header is too long (limit 1024 bytes)'), res.body.toString());
  const many = 'a/b;q=0.1,'.repeat(90) + 'application/json;q=0.2';
  assert.equal((await chose(server.port, '/report', many)).body, 'chose application/json');
  for (const junk of ['"', ';;;,,,', 'text/csv;q=abc', 'application/json;q=1e999', '\u00ff/\u00ff']) {
    const r = await chose(server.port, '/report', junk);
    assert.ok(r.status === 200 || r.status === 406, `${junk}: ${r.status}`);
  }
});

test('a request a tool answered first passes: a CORS preflight is not refused', async (t) => {
  const server = await start(t, root(), { '/report': { ...BOTH, 'tools.cors.on': true } });
  const res = await one(server.port, 'OPTIONS', '/report', { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', Accept: 'image/png' });
  assert.ok(res.status === 204 || res.status === 200, String(res.status));
});

test('media is checked at start-up: a type or a list of types, without wildcards or parameters', () => {
  for (const bad of ['text/*', '*/*', 'text/html; charset=utf-8', 'html', ['text/html', 42], 42, { a: 1 }]) {
    assert.throws(() => new App(root(), { '/': { 'tools.accept.on': true, 'tools.accept.media': bad } }),
      (e: unknown) => e instanceof DrupeError && e.code === 'DRUPE_ERR_CONFIG_VALUE' && e.message.includes('tools.accept.media'), JSON.stringify(bad));
  }
  for (const good of [null, [], 'application/vnd.api+json', ['text/html', 'application/json']]) {
    assert.doesNotThrow(() => new App(root(), { '/': { 'tools.accept.on': true, 'tools.accept.media': good } }), JSON.stringify(good));
  }
});
