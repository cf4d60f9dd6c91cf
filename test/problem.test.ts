// Errors API clients can read (issue 18 part 3): RFC 9457 problem+json chosen
// from Accept, `errors` lists, error_page functions returning either form,
// request.error_format, and the headers errors carry (HOSTILE 61, 62), over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  App, DrupeError, HTTPError, MethodDispatcher, NotFound, SessionStoreUnavailableError, exposed,
  type Context, type ErrorPageInfo, type ProblemFieldError, type SessionStore,
} from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { one } from './helpers/http.js';
import { get, start } from './helpers/server.js';

const JSON_CLIENT = { Accept: 'application/json' };
const PROBLEM_CLIENT = { Accept: 'application/problem+json' };
const BROWSER = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8' };

/** An error carrying an `errors` list, as ValidationError does: any HTTPError may. */
class FieldsError extends HTTPError {
  readonly errors: readonly ProblemFieldError[];
  constructor(errors: readonly ProblemFieldError[]) {
    super(400, 'The input is not valid');
    this.errors = errors;
  }
}

interface Problem { type?: unknown; title?: unknown; status?: unknown; detail?: unknown; instance?: unknown; errors?: unknown; traceback?: unknown; [k: string]: unknown }

function problemOf(res: { headers: Headers; text: string }, type = 'application/problem+json'): Problem {
  assert.equal(res.headers.get('content-type'), type, res.text);
  return JSON.parse(res.text) as Problem;
}

function root(): Record<string, unknown> {
  return {
    forbidden: exposed(() => { throw new HTTPError(403, 'Members only'); }),
    fishing: exposed(() => { throw new HTTPError("410 Gone fishin'", 'out on the lake'); }),
    missing: exposed(() => { throw new NotFound(); }),
    boom: exposed(() => { throw new Error('kaboom-secret'); }),
    fields: exposed(() => {
      throw new FieldsError([
        { location: 'params', path: 'age', message: 'Expected a number' },
        { location: 'body', path: 'address.zip', message: 'Required <b>' },
      ]);
    }),
    ok: exposed(() => 'fine'),
  };
}

test('a client that prefers JSON gets RFC 9457 problem+json; browsers and */* keep the HTML page; the response varies on Accept', async (t) => {
  const server = await start(t, root());
  const json = await get(server.url + '/forbidden', { headers: PROBLEM_CLIENT });
  assert.equal(json.status, 403);
  assert.deepEqual(problemOf(json), { type: 'about:blank', title: 'Forbidden', status: 403, detail: 'Members only', instance: '/forbidden' });
  assert.equal(json.headers.get('vary'), 'Accept');

  // application/json alone: the same document, as the type the client named.
  const plain = await get(server.url + '/forbidden', { headers: JSON_CLIENT });
  assert.equal(problemOf(plain, 'application/json').status, 403);

  for (const accept of ['application/*', 'text/html;q=0.5, application/json', 'application/problem+json, text/html;q=0.9', 'text/html;q=0.1, */*']) {
    const r = await get(server.url + '/missing', { headers: { Accept: accept } });
    assert.equal(r.status, 404, accept);
    assert.match(r.headers.get('content-type') ?? '', /^application\/(problem\+)?json$/, accept);
    assert.equal((JSON.parse(r.text) as Problem).detail, "The path '/missing' was not found.", accept);
  }
  for (const accept of [BROWSER.Accept, '*/*', 'text/html', 'application/json;q=0, */*', 'text/plain', 'image/png', '']) {
    const r = await get(server.url + '/missing', { headers: { Accept: accept } });
    assert.equal(r.status, 404, accept);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/, accept);
    assert.ok(r.text.includes('<h2>404 Not Found</h2>'), accept);
    assert.equal(r.headers.get('vary'), 'Accept', accept);
  }
  // No Accept at all: HTML, as before.
  const bare = await one(server.port, 'GET', '/missing');
  assert.match(bare.headers['content-type'] ?? '', /^text\/html/);
  // A page that is not an error is untouched: no Vary added.
  const ok = await get(server.url + '/ok', { headers: JSON_CLIENT });
  assert.equal(ok.text, 'fine');
  assert.equal(ok.headers.get('vary'), null);
});

test("title is the status's standard phrase, detail the error's message; a reason of one's own stays on the status line", async (t) => {
  const server = await start(t, root());
  const res = await one(server.port, 'GET', '/fishing', PROBLEM_CLIENT);
  assert.equal(res.status, 410);
  assert.equal(res.reason, 'Gone fishin\'');
  assert.deepEqual(JSON.parse(res.body.toString()), { type: 'about:blank', title: 'Gone', status: 410, detail: 'out on the lake', instance: '/fishing' });
});

test('an error carrying `errors` lists them: a member of the problem, a list on the HTML page (escaped)', async (t) => {
  const server = await start(t, root());
  const json = await get(server.url + '/fields', { headers: PROBLEM_CLIENT });
  assert.equal(json.status, 400);
  const p = problemOf(json);
  assert.equal(p.detail, 'The input is not valid');
  assert.deepEqual(p.errors, [
    { location: 'params', path: 'age', message: 'Expected a number' },
    { location: 'body', path: 'address.zip', message: 'Required <b>' },
  ]);
  const html = await get(server.url + '/fields', { headers: BROWSER });
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(html.text.includes('<li>params.age: Expected a number</li>'), html.text);
  assert.ok(html.text.includes('<li>body.address.zip: Required &lt;b&gt;</li>'), html.text);
  assert.ok(!html.text.includes('<b>'), html.text);
});

test('only location, path and message of each entry reach the client (not the rejected value)', async (t) => {
  class Leaky extends HTTPError {
    readonly errors = [{ location: 'body', path: 'password', message: 'Too short', input: 'hunter2' }, 'not an object', { path: 7 }];
    constructor() { super(422, 'Nope'); }
  }
  const server = await start(t, { index: exposed(() => { throw new Leaky(); }) });
  const res = await get(server.url + '/', { headers: PROBLEM_CLIENT });
  assert.equal(res.status, 422);
  assert.ok(!res.text.includes('hunter2'), res.text);
  assert.deepEqual(problemOf(res).errors, [
    { location: 'body', path: 'password', message: 'Too short' },
    { location: '', path: '', message: 'undefined' },
  ]);
});

test('a 500 says nothing of the code unless request.show_tracebacks, which adds the traceback member', async (t) => {
  const quiet = await start(t, root(), {}, { environment: 'production', 'log.screen': false });
  const res = await get(quiet.url + '/boom', { headers: PROBLEM_CLIENT });
  assert.equal(res.status, 500);
  const p = problemOf(res);
  assert.equal(p.title, 'Internal Server Error');
  assert.equal(p.traceback, undefined);
  assert.ok(!res.text.includes('kaboom-secret'), res.text);
  assert.ok(!res.text.includes('.js'), res.text);

  const loud = await start(t, root(), {}, { 'request.show_tracebacks': true });
  const shown = problemOf(await get(loud.url + '/boom', { headers: PROBLEM_CLIENT }));
  assert.equal(shown.detail, 'kaboom-secret');
  assert.equal(typeof shown.traceback, 'string');
  assert.match(shown.traceback as string, /^\s+at /m);
});

test('the errors Drupe makes itself are problems too: 404 without a handler, 405 with Allow, 413 with Connection: close, 415 and 400 from json_in, a bad query', async (t) => {
  class Items { GET() { return 'list'; } }
  const server = await start(t, {
    api: { items: new Items() },
    echo: exposed(({ params }: Context) => JSON.stringify(params)),
  }, {
    '/api': { 'request.dispatch': new MethodDispatcher() },
    '/echo': { 'tools.json_in.on': true, 'server.max_request_body_size': 100 },
  });
  const nothing = await one(server.port, 'GET', '/nowhere', PROBLEM_CLIENT);
  assert.equal(nothing.status, 404);
  assert.equal(JSON.parse(nothing.body.toString()).instance, '/nowhere');

  const refused = await one(server.port, 'DELETE', '/api/items', PROBLEM_CLIENT);
  assert.equal(refused.status, 405);
  assert.equal(refused.headers.allow, 'GET, HEAD');
  assert.equal(refused.headers['content-type'], 'application/problem+json');
  assert.equal(JSON.parse(refused.body.toString()).status, 405);

  const big = await one(server.port, 'POST', '/echo', { ...PROBLEM_CLIENT, 'Content-Type': 'application/json', 'Content-Length': '1000' }, { body: 'x'.repeat(1000) });
  assert.equal(big.status, 413);
  assert.equal(big.headers.connection, 'close');
  assert.equal(JSON.parse(big.body.toString()).status, 413);

  const type = await one(server.port, 'POST', '/echo', { ...PROBLEM_CLIENT, 'Content-Type': 'text/plain' }, { body: '{}' });
  assert.equal(type.status, 415);
  assert.equal(type.headers['content-type'], 'application/problem+json');

  const bad = await one(server.port, 'POST', '/echo', { ...PROBLEM_CLIENT, 'Content-Type': 'application/json' }, { body: '{"a":' });
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body.toString()).status, 400);

  const query = await one(server.port, 'GET', '/echo?a=%zz', PROBLEM_CLIENT);
  assert.equal(query.status, 400);
  assert.equal(query.headers['content-type'], 'application/problem+json');
});

test('HEAD of an error: the problem type and length, no body', async (t) => {
  const server = await start(t, root());
  const res = await one(server.port, 'HEAD', '/forbidden', PROBLEM_CLIENT);
  assert.equal(res.status, 403);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  assert.equal(res.body.length, 0);
  const full = await one(server.port, 'GET', '/forbidden', PROBLEM_CLIENT);
  assert.equal(res.headers['content-length'], String(full.body.length));
});

test('error_page functions return either: a string is HTML, an object a problem over Drupe\'s members (status kept); info.format says what the client prefers', async (t) => {
  const seen: ErrorPageInfo[] = [];
  const dir = tempDir(t);
  const file = join(dir, 'page.html');
  writeFileSync(file, '<p>file page {status}</p>');
  const server = await start(t, {
    ...root(),
    filed: { index: exposed(() => { throw new HTTPError(409, 'Taken'); }) },
  }, {
    '/': {
      'error_page.403': (info) => { seen.push(info); return { type: '/problems/members', title: 'Members only', status: 200, hint: 'log in', instance: undefined }; },
      'error_page.400': (info) => (info.format === 'problem' ? { detail: `${info.errors?.length ?? 0} fields` } : `<p>${info.errors?.length ?? 0} fields</p>`),
      'error_page.410': () => '<p>an HTML page of its own</p>',
    },
    '/filed': { 'error_page.409': file },
  });
  const obj = await get(server.url + '/forbidden', { headers: PROBLEM_CLIENT });
  assert.equal(obj.status, 403);
  assert.deepEqual(problemOf(obj), { type: '/problems/members', title: 'Members only', status: 403, detail: 'Members only', hint: 'log in' });
  assert.equal(seen[0]!.format, 'problem');
  // An object is a problem whatever the client prefers, as the type the client accepts best.
  const toBrowser = await get(server.url + '/forbidden', { headers: BROWSER });
  assert.equal(toBrowser.headers.get('content-type'), 'application/problem+json');
  assert.equal(seen[1]!.format, 'html');
  const asJson = await get(server.url + '/forbidden', { headers: JSON_CLIENT });
  assert.equal(asJson.headers.get('content-type'), 'application/json');

  const byFormat = problemOf(await get(server.url + '/fields', { headers: PROBLEM_CLIENT }));
  assert.equal(byFormat.detail, '2 fields');
  assert.equal((byFormat.errors as unknown[]).length, 2, "Drupe's members stay under the function's");
  assert.equal((await get(server.url + '/fields', { headers: BROWSER })).text, '<p>2 fields</p>');

  const html = await get(server.url + '/fishing', { headers: PROBLEM_CLIENT });
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/, 'a string is HTML: the function chose');
  assert.equal(html.text, '<p>an HTML page of its own</p>');

  // A file page is HTML: a JSON client gets Drupe's problem instead.
  assert.equal((await get(server.url + '/filed/', { headers: BROWSER })).text, '<p>file page 409</p>');
  assert.equal(problemOf(await get(server.url + '/filed/', { headers: PROBLEM_CLIENT })).detail, 'Taken');
});

test('an error_page function that fails or returns neither form: a fixed 500 in the form the client takes, logged', async (t) => {
  const server = await start(t, root(), {
    '/': {
      'error_page.403': () => { throw new Error('page broke'); },
      'error_page.404': () => 42 as unknown as string,
    },
  });
  for (const path of ['/forbidden', '/missing']) {
    const json = await get(server.url + path, { headers: PROBLEM_CLIENT });
    assert.equal(json.status, 500, path);
    assert.deepEqual(problemOf(json), { type: 'about:blank', title: 'Internal Server Error', status: 500 });
    const html = await get(server.url + path, { headers: BROWSER });
    assert.equal(html.status, 500, path);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok(html.text.includes('500 Internal Server Error'));
  }
});

test('request.error_format: problem or html whatever Accept says (no Vary then), per path; a bad value fails at start-up', async (t) => {
  const server = await start(t, { api: root(), site: root() }, {
    '/api': { 'request.error_format': 'problem' },
    '/site': { 'request.error_format': 'html' },
  });
  const api = await get(server.url + '/api/forbidden', { headers: BROWSER });
  assert.equal(problemOf(api).instance, '/api/forbidden');
  assert.equal(api.headers.get('vary'), null);
  const site = await get(server.url + '/site/forbidden', { headers: PROBLEM_CLIENT });
  assert.match(site.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(site.headers.get('vary'), null);
  // A 404 under /api without a handler is the section's too.
  const none = await one(server.port, 'GET', '/api/none');
  assert.equal(none.headers['content-type'], 'application/problem+json');

  assert.throws(() => new App(root(), { '/': { 'request.error_format': 'json' as 'html' } }),
    (e: unknown) => e instanceof DrupeError && e.code === 'DRUPE_ERR_CONFIG_VALUE' && e.message.includes("'auto', 'html' or 'problem'"));
});

test('headers an error carries stay in problem+json: a session store down is a 503 with Retry-After; auth_basic\'s WWW-Authenticate; tools.expires and gzip apply', async (t) => {
  const down: SessionStore = {
    load: () => Promise.reject(new SessionStoreUnavailableError('store gone')),
    save: () => Promise.reject(new SessionStoreUnavailableError('store gone')),
    touch: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    lock: () => Promise.reject(new SessionStoreUnavailableError('store gone')),
    clean: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const server = await start(t, {
    counter: exposed(({ request }: Context) => String(request.session.get('n') ?? 0)),
    guarded: exposed(() => 'secret'),
    gone: exposed(() => { throw new HTTPError(404, 'x'.repeat(2000)); }),
  }, {
    '/counter': { 'tools.sessions.on': true, 'tools.sessions.store': down, 'tools.sessions.locking': 'early' },
    '/guarded': { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'api', 'tools.auth_basic.users': { ann: 'pw' } },
    '/gone': { 'tools.expires.on': true, 'tools.expires.secs': 60, 'tools.expires.force': true, 'tools.gzip.on': true },
  }, { 'log.screen': false });

  // A session id of the right shape, so the tool asks the store for it.
  const busy = await one(server.port, 'GET', '/counter', { ...PROBLEM_CLIENT, Cookie: `session_id=${'A'.repeat(32)}` });
  assert.equal(busy.status, 503);
  assert.equal(busy.headers['retry-after'], '5');
  assert.equal(busy.headers['content-type'], 'application/problem+json');
  assert.equal(JSON.parse(busy.body.toString()).detail, 'The session store is not available; try again shortly');

  const auth = await one(server.port, 'GET', '/guarded', PROBLEM_CLIENT);
  assert.equal(auth.status, 401);
  assert.match(auth.headers['www-authenticate'] ?? '', /^Basic realm="api"/);
  assert.equal(JSON.parse(auth.body.toString()).status, 401);

  const gone = await one(server.port, 'GET', '/gone', { ...PROBLEM_CLIENT, 'Accept-Encoding': 'gzip' });
  assert.equal(gone.status, 404);
  assert.match(gone.headers['cache-control'] ?? '', /max-age=60/);
  assert.equal(gone.headers['content-encoding'], 'gzip');
  assert.equal(gone.headers['content-type'], 'application/problem+json');
  assert.equal(gone.headers.vary, 'Accept, Accept-Encoding');
});

test('tools.caching: a problem is never stored, and the page stored for a route is not served to an error of it; its 412 is a problem', async (t) => {
  let calls = 0;
  const server = await start(t, {
    flaky: exposed(({ params }: Context) => { calls++; if (params.fail === '1') throw new HTTPError(503, 'later', { 'Retry-After': '1' }); return 'page'; }),
    tagged: exposed(({ response }: Context) => { response.headers.set('ETag', '"v1"'); return 'tagged'; }),
  }, { '/': { 'tools.caching.on': true } });
  for (let i = 1; i <= 2; i++) {
    const r = await one(server.port, 'GET', '/flaky?fail=1', PROBLEM_CLIENT);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(calls, i, 'the error reached the handler each time: never stored');
  }
  assert.equal((await one(server.port, 'GET', '/tagged')).body.toString(), 'tagged');
  const pre = await one(server.port, 'GET', '/tagged', { ...PROBLEM_CLIENT, 'If-Match': '"v2"' });
  assert.equal(pre.status, 412);
  assert.equal(pre.headers['content-type'], 'application/problem+json');
  assert.equal(pre.headers.age, undefined, 'the stored page\'s headers are not the error\'s');
  assert.equal(JSON.parse(pre.body.toString()).status, 412);
});

test('HOSTILE 61: an Accept over 1 KiB, or of thousands of ranges, is not negotiated for an error: the HTML page, at once', async (t) => {
  const server = await start(t, root());
  const huge = 'application/json;q=0.9,' + 'a/b;q=0.1,'.repeat(1200);
  const res = await one(server.port, 'GET', '/forbidden', { Accept: huge });
  assert.equal(res.status, 403);
  assert.match(res.headers['content-type'] ?? '', /^text\/html/);
  // Many q-values within the bound are negotiated as usual.
  const many = 'a/b;q=0.1,'.repeat(90) + 'application/json;q=0.9';
  assert.ok(many.length <= 1024);
  const ok = await one(server.port, 'GET', '/forbidden', { Accept: many });
  assert.equal(ok.headers['content-type'], 'application/json');
  // Nonsense is no worse than no preference.
  for (const junk of ['"', ';;;,,,', 'application/json;q=abc', '\t', 'a/b;q=0.5;q=0.6, text/html;level="x']) {
    const r = await one(server.port, 'GET', '/forbidden', { Accept: junk });
    assert.equal(r.status, 403, junk);
  }
});

test('HOSTILE 62: input echoed in a message is escaped on an HTML page and only ever JSON-encoded in a problem', async (t) => {
  const evil = `</script><script>alert("x")</script> \u2028 & 'q' \\ ${'"'}`;
  const server = await start(t, { index: exposed(() => { throw new HTTPError(400, evil); }), fields: exposed(() => { throw new FieldsError([{ location: 'params', path: evil, message: evil }]); }) });
  const json = await get(server.url + '/', { headers: PROBLEM_CLIENT });
  assert.ok(!json.text.includes('<'), json.text);
  assert.equal(problemOf(json).detail, evil);
  const fields = problemOf(await get(server.url + '/fields', { headers: PROBLEM_CLIENT }));
  assert.deepEqual(fields.errors, [{ location: 'params', path: evil, message: evil }]);
  for (const path of ['/', '/fields']) {
    const html = await get(server.url + path, { headers: BROWSER });
    assert.ok(!html.text.includes('<script>'), html.text);
    assert.ok(!html.text.includes('</script>'), html.text);
  }
});
