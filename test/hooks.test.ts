// Hook points over real sockets: CherryPy's order, the error path,
// priority, failsafe, async hooks, hooks from config at every level, user
// tools, a hook answering instead of the handler, and stable per-route lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, DrupeError, HOOK_POINTS, HTTPError, HTTPRedirect, NotFound, defineTool, expose, exposed, type Config, type Context, type HookEntry } from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { within } from './helpers/async.js';
import { startApp, get } from './helpers/server.js';

/**
 * Records events; `ended()` resolves once the request's on_end_request hook
 * ran (it runs after the response went out, so the client may be done first).
 */
class Recorder {
  events: string[] = [];
  #waiters: Array<() => void> = [];
  #ends = 0;

  push(e: string): void {
    this.events.push(e);
  }

  /** A config section with a recording hook at every point (`on_end_request` last of all). */
  allPoints(tag = ''): Config {
    const c: Config = {};
    for (const point of HOOK_POINTS) {
      c[`hooks.${point}`] = point === 'on_end_request'
        ? { run: () => { this.push(point + tag); this.#end(); }, priority: 100, failsafe: true }
        : () => { this.push(point + tag); };
    }
    return c;
  }

  /** An on_end_request entry that only signals the end. */
  endSignal(): HookEntry {
    return { run: () => { this.#end(); }, priority: 100, failsafe: true };
  }

  #end(): void {
    this.#ends++;
    this.#waiters.splice(0).forEach((w) => w());
  }

  /** Resolves once `count` requests in total have reached their on_end_request. */
  async ended(count: number): Promise<void> {
    const wait = async (): Promise<void> => {
      while (this.#ends < count) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    };
    await within(wait(), `on_end_request of request ${count}`, 10_000);
  }

  take(): string[] {
    return this.events.splice(0);
  }
}

const NORMAL = ['on_start_resource', 'before_request_body', 'before_handler', 'handler', 'before_finalize', 'on_end_resource', 'on_end_request'];

// ---------------------------------------------------------------------------
// Order

test('a normal request meets the hook points in CherryPy order, error points skipped', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => { rec.push('handler'); return 'ok'; }) };
  const server = await startApp(root, { '/': rec.allPoints() });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.text, 'ok');
  await rec.ended(1);
  assert.deepEqual(rec.take(), NORMAL);
});

test('a POST with a form body meets the same order, the form read between before_request_body and before_handler', async (t) => {
  const rec = new Recorder();
  const sections: Config = {
    ...rec.allPoints(),
    'hooks.before_request_body': ({ params }: Context) => { rec.push(`before_request_body name=${String(params.name)}`); },
    'hooks.before_handler': ({ params }: Context) => { rec.push(`before_handler name=${String(params.name)}`); },
  };
  const root = { form: exposed(({ params }: Context) => { rec.push('handler'); return `hi ${String(params.name)}`; }) };
  const server = await startApp(root, { '/': sections });
  t.after(() => server.close());
  const res = await get(server.url + '/form', { method: 'POST', body: new URLSearchParams({ name: 'Ann' }) });
  assert.equal(res.text, 'hi Ann');
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['on_start_resource', 'before_request_body name=undefined', 'before_handler name=Ann', 'handler', 'before_finalize', 'on_end_resource', 'on_end_request']);
});

test('an unexpected error: before_error_response and after_error_response fire, in CherryPy order', async (t) => {
  const rec = new Recorder();
  const root = { boom: exposed(() => { rec.push('handler'); throw new Error('boom'); }) };
  const server = await startApp(root, { '/': rec.allPoints() });
  t.after(() => server.close());
  const res = await get(server.url + '/boom');
  assert.equal(res.status, 500);
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['on_start_resource', 'before_request_body', 'before_handler', 'handler', 'on_end_resource', 'before_error_response', 'after_error_response', 'on_end_request']);
});

test('all eight points fire in one request, in HOOK_POINTS order, when before_finalize fails', async (t) => {
  const rec = new Recorder();
  const root = { page: exposed(() => { rec.push('handler'); return 'never sent'; }) };
  const sections = { ...rec.allPoints(), 'hooks.before_finalize': () => { rec.push('before_finalize'); throw new Error('finalize failed'); } };
  const server = await startApp(root, { '/': sections });
  t.after(() => server.close());
  const res = await get(server.url + '/page');
  assert.equal(res.status, 500);
  assert.ok(!res.text.includes('never sent'));
  await rec.ended(1);
  const events = rec.take();
  assert.deepEqual(events.filter((e) => e !== 'handler'), [...HOOK_POINTS]);
  assert.equal(events.indexOf('handler'), 3);
});

test('an HTTPError, a NotFound from dispatch and a redirect do not fire the error points, and are finalized like any response', async (t) => {
  const rec = new Recorder();
  const root = {
    forbidden: exposed(() => { rec.push('handler'); throw new HTTPError(403, 'no'); }),
    missing: exposed(() => { rec.push('handler'); throw new NotFound(); }),
    away: exposed(() => { rec.push('handler'); throw new HTTPRedirect('/elsewhere'); }),
  };
  const server = await startApp(root, { '/': rec.allPoints() });
  t.after(() => server.close());
  const withHandler = ['on_start_resource', 'before_request_body', 'before_handler', 'handler', 'before_finalize', 'on_end_resource', 'on_end_request'];
  const cases: Array<[string, number, string[]]> = [
    ['/forbidden', 403, withHandler],
    ['/missing', 404, withHandler],
    ['/no/such/path', 404, withHandler.filter((e) => e !== 'handler')],
    ['/away', 303, withHandler],
  ];
  let n = 0;
  for (const [path, status, expected] of cases) {
    assert.equal((await get(server.url + path)).status, status, path);
    await rec.ended(++n);
    assert.deepEqual(rec.take(), expected, path);
  }
});

test('before_finalize hooks shape an HTTPError or redirect response too (CherryPy: header tools apply to error pages)', async (t) => {
  const root = {
    forbidden: exposed(() => { throw new HTTPError(403, 'no'); }),
    away: exposed(() => { throw new HTTPRedirect('/elsewhere'); }),
  };
  const server = await startApp(root, { '/': { 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Finalized', 'yes'); } } });
  t.after(() => server.close());
  const forbidden = await get(server.url + '/forbidden');
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.headers.get('x-finalized'), 'yes');
  const away = await get(server.url + '/away');
  assert.equal(away.status, 303);
  assert.equal(away.headers.get('x-finalized'), 'yes');
});

test('a before_finalize hook that raises an HTTPError answers with that error', async (t) => {
  const root = { page: exposed(() => 'LEAK: page'), redirect: exposed(() => 'LEAK: redirect') };
  const server = await startApp(root, {
    '/': {
      'request.show_tracebacks': false,
      'hooks.before_finalize': ({ request }: Context) => {
        if (request.path === '/page') throw new HTTPError(403, 'refused late');
        if (request.path === '/redirect') throw new HTTPRedirect('/elsewhere', 307);
      },
    },
  });
  t.after(() => server.close());
  const page = await get(server.url + '/page');
  assert.equal(page.status, 403);
  assert.ok(page.text.includes('refused late'));
  const redirect = await get(server.url + '/redirect');
  assert.equal(redirect.status, 307);
  assert.equal(redirect.headers.get('location'), `${server.url}/elsewhere`);
});

test('an error in on_end_resource becomes the response; after an earlier unexpected error, the first one answers', async (t) => {
  const rec = new Recorder();
  const root = {
    fine: exposed(() => 'LEAK: replaced'),
    teapot: exposed(() => 'LEAK: replaced too'),
    boom: exposed(() => { throw new Error('first-error'); }),
  };
  const endHook = ({ request }: Context): void => {
    rec.push('on_end_resource');
    if (request.path === '/teapot') throw new HTTPError(418, 'from on_end_resource');
    throw new Error('end-resource-error');
  };
  const server = await startApp(root, {
    '/': {
      'request.show_tracebacks': true,
      'hooks.on_end_resource': endHook,
      'hooks.before_error_response': () => { rec.push('before_error_response'); },
      'hooks.on_end_request': rec.endSignal(),
    },
  });
  t.after(() => server.close());
  const fine = await get(server.url + '/fine');
  assert.equal(fine.status, 500);
  assert.ok(fine.text.includes('end-resource-error'));
  assert.ok(!fine.text.includes('LEAK'));
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['on_end_resource', 'before_error_response']);
  const teapot = await get(server.url + '/teapot');
  assert.equal(teapot.status, 418);
  assert.ok(teapot.text.includes('from on_end_resource'));
  await rec.ended(2);
  assert.deepEqual(rec.take(), ['on_end_resource']);
  const boom = await get(server.url + '/boom');
  assert.equal(boom.status, 500);
  assert.ok(boom.text.includes('first-error'));
  assert.ok(!boom.text.includes('end-resource-error'));
  await rec.ended(3);
  assert.deepEqual(rec.take(), ['on_end_resource', 'before_error_response']);
});

test('after_error_response may add headers to the error response; the page stays generic', async (t) => {
  const root = { boom: exposed(() => { throw new Error('secret-internals'); }) };
  const server = await startApp(root, {
    '/': {
      'request.show_tracebacks': false,
      'hooks.before_error_response': ({ response }: Context) => { response.headers.set('X-Before', 'yes'); },
      'hooks.after_error_response': ({ request, response }: Context) => { response.headers.set('X-Error-Id', request.id); },
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/boom');
  assert.equal(res.status, 500);
  assert.ok((res.headers.get('x-error-id') ?? '').length > 0);
  assert.equal(res.headers.get('x-before'), 'yes');
  assert.ok(!res.text.includes('secret-internals'));
});

test('on_end_request runs after the response was written', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const seen: string[] = [];
  let finished!: () => void;
  const done = new Promise<void>((resolve) => { finished = resolve; });
  const root = { index: exposed(() => 'the body') };
  const server = await startApp(root, {
    '/': {
      'hooks.on_end_request': async ({ response }: Context) => {
        seen.push(`committed=${String(response.committed)}`);
        // If the response were still unwritten, the client below could never finish and release us.
        await gate;
        seen.push('released');
        finished();
      },
    },
  });
  t.after(() => server.close());
  const res = await fetch(server.url + '/', { signal: AbortSignal.timeout(10_000) });
  assert.equal(await res.text(), 'the body');
  assert.deepEqual(seen, ['committed=true']);
  release();
  await within(done, 'the end of on_end_request', 10_000);
  assert.deepEqual(seen, ['committed=true', 'released']);
});

test('on_end_request runs for every request, an error in it changes nothing for the client', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => 'fine') };
  const server = await startApp(root, {
    '/': { 'hooks.on_end_request': [() => { rec.push('first'); throw new Error('end failed'); }, { run: () => { rec.push('failsafe'); }, failsafe: true }, rec.endSignal()] },
  });
  t.after(() => server.close());
  const r = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => `${x.status} ${x.body.toString()}`), ['200 fine', '200 fine']);
  await rec.ended(2);
  assert.deepEqual(rec.take(), ['first', 'failsafe', 'first', 'failsafe']);
});

// ---------------------------------------------------------------------------
// Priority and failsafe

test('hooks of one point run by priority, lower first; equal priorities keep config order', async (t) => {
  const rec = new Recorder();
  const mark = (name: string, priority?: number): HookEntry => priority === undefined ? () => { rec.push(name); } : { run: () => { rec.push(name); }, priority };
  const root = { index: exposed(() => { rec.push('handler'); return 'ok'; }) };
  const server = await startApp(root, {
    '/': {
      'hooks.before_handler': [mark('p80', 80), mark('p10', 10), mark('default-a'), mark('p50', 50), mark('default-b'), mark('p0', 0), mark('neg', -5)],
      'hooks.on_end_request': rec.endSignal(),
    },
  });
  t.after(() => server.close());
  await get(server.url + '/');
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['neg', 'p0', 'p10', 'default-a', 'p50', 'default-b', 'p80', 'handler']);
});

test('failsafe: after a hook fails only failsafe hooks of that point run, and the first error is the response', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => { rec.push('handler'); return 'handler ran'; }) };
  const server = await startApp(root, {
    '/': {
      'hooks.before_handler': [
        { run: () => { rec.push('a'); }, priority: 10 },
        { run: () => { rec.push('b-fails'); throw new HTTPError(403, 'first error'); }, priority: 20 },
        { run: () => { rec.push('c-skipped'); }, priority: 30 },
        { run: () => { rec.push('d-failsafe-fails'); throw new HTTPError(409, 'second error'); }, priority: 40, failsafe: true },
        { run: () => { rec.push('e-skipped'); }, priority: 50 },
        { run: () => { rec.push('f-failsafe'); }, priority: 60, failsafe: true },
      ],
      'hooks.before_finalize': () => { rec.push('before_finalize'); },
      'hooks.on_end_resource': () => { rec.push('on_end_resource'); },
      'hooks.on_end_request': [{ run: () => { rec.push('on_end_request'); }, failsafe: true }, rec.endSignal()],
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 403);
  assert.ok(res.text.includes('first error'));
  assert.ok(!res.text.includes('second error'));
  await rec.ended(1);
  // The 403 page is finalized like any response (before_finalize), then the resource ends.
  assert.deepEqual(rec.take(), ['a', 'b-fails', 'd-failsafe-fails', 'f-failsafe', 'before_finalize', 'on_end_resource', 'on_end_request']);
});

test('failsafe: an unexpected error from a hook is a 500 that fires the error points', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => { rec.push('handler'); return 'x'; }) };
  const server = await startApp(root, {
    '/': {
      'request.show_tracebacks': true,
      'hooks.on_start_resource': [() => { throw new Error('start failed'); }, { run: () => { rec.push('failsafe start'); }, failsafe: true }],
      'hooks.before_handler': () => { rec.push('before_handler'); },
      'hooks.before_error_response': () => { rec.push('before_error_response'); },
      'hooks.on_end_request': [() => { rec.push('on_end_request'); }, rec.endSignal()],
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 500);
  assert.ok(res.text.includes('start failed'));
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['failsafe start', 'before_error_response', 'on_end_request']);
});

// ---------------------------------------------------------------------------
// Async hooks

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('async hooks are awaited in order, and can shape the response', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(({ request }: Context) => { rec.push(`handler sees ${String((request as unknown as { user?: string }).user)}`); return 'ok'; }) };
  const server = await startApp(root, {
    '/': {
      'hooks.on_start_resource': async () => { await tick(); rec.push('start'); },
      'hooks.before_handler': [
        { run: async ({ request }: Context) => { await tick(); await tick(); (request as unknown as { user?: string }).user = 'ann'; rec.push('auth'); }, priority: 10 },
        { run: () => { rec.push('sync after async'); }, priority: 20 },
        { run: async () => { await tick(); rec.push('async last'); }, priority: 30 },
      ],
      'hooks.before_finalize': async ({ response }: Context) => { await tick(); response.headers.set('X-Async', 'done'); rec.push('finalize'); },
      'hooks.on_end_request': [async () => { await tick(); rec.push('end'); }, rec.endSignal()],
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.text, 'ok');
  assert.equal(res.headers.get('x-async'), 'done');
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['start', 'auth', 'sync after async', 'async last', 'handler sees ann', 'finalize', 'end']);
});

test('a rejected async hook fails like a throw: failsafe hooks still run, the first rejection answers', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => { rec.push('handler'); return 'x'; }) };
  const server = await startApp(root, {
    '/': {
      'hooks.before_handler': [
        { run: async () => { await tick(); rec.push('rejects'); throw new HTTPError(401, 'async says no'); }, priority: 10 },
        { run: async () => { await tick(); rec.push('skipped'); }, priority: 20 },
        { run: async () => { await tick(); rec.push('failsafe async'); throw new HTTPError(402, 'later'); }, priority: 30, failsafe: true },
        { run: () => { rec.push('failsafe sync'); }, priority: 40, failsafe: true },
      ],
      'hooks.on_end_request': rec.endSignal(),
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 401);
  assert.ok(res.text.includes('async says no'));
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['rejects', 'failsafe async', 'failsafe sync']);
});

test('a sync failure before an async failsafe hook: the async one is awaited, the sync error answers', async (t) => {
  const rec = new Recorder();
  const root = { index: exposed(() => { rec.push('handler'); return 'x'; }) };
  const server = await startApp(root, {
    '/': {
      'hooks.before_handler': [
        { run: () => { rec.push('sync fails'); throw new HTTPError(403, 'sync first'); }, priority: 10 },
        { run: async () => { await tick(); rec.push('async failsafe done'); }, priority: 20, failsafe: true },
        { run: async () => { rec.push('skipped'); }, priority: 30 },
      ],
      'hooks.on_end_request': rec.endSignal(),
    },
  });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 403);
  assert.ok(res.text.includes('sync first'));
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['sync fails', 'async failsafe done']);
});

// ---------------------------------------------------------------------------
// hooks.<point> at every config level

test('hooks from config at global, app, section, class and handler level each apply where they are set', async (t) => {
  const rec = new Recorder();
  const hook = (name: string) => ({ request }: Context): void => { rec.push(`${name} ${request.path}`); };
  class Admin {
    static _cp_config: Config = { 'hooks.before_finalize': hook('class-finalize') };
    @expose() index() { return 'admin'; }
    @expose({ 'hooks.before_finalize': hook('handler-finalize') }) special() { return 'special'; }
  }
  const root = { index: exposed(() => 'root'), admin: new Admin(), sub: { page: exposed(() => 'sub page') } };
  const server = await startApp(root, {
    '/': { 'hooks.before_handler': hook('app-before'), 'hooks.on_end_request': rec.endSignal() },
    '/sub': { 'hooks.on_end_resource': hook('section-end') },
  }, { 'hooks.on_start_resource': hook('global-start') });
  t.after(() => server.close());
  let n = 0;
  const visit = async (path: string, body: string): Promise<string[]> => {
    assert.equal((await get(server.url + path)).text, body);
    await rec.ended(++n);
    return rec.take();
  };
  assert.deepEqual(await visit('/', 'root'), ['global-start /', 'app-before /']);
  assert.deepEqual(await visit('/sub/page', 'sub page'), ['global-start /sub/page', 'app-before /sub/page', 'section-end /sub/page']);
  assert.deepEqual(await visit('/admin/', 'admin'), ['global-start /admin/', 'app-before /admin/', 'class-finalize /admin/']);
  // The handler's hooks.before_finalize replaces the class's (config merges key by key, deeper wins).
  assert.deepEqual(await visit('/admin/special', 'special'), ['global-start /admin/special', 'app-before /admin/special', 'handler-finalize /admin/special']);
});

test('a deeper hooks.<point> replaces the shallower one; an empty list switches it off', async (t) => {
  const rec = new Recorder();
  const root = { a: exposed(() => 'a'), quiet: { page: exposed(() => 'quiet') }, loud: { page: exposed(() => 'loud') } };
  const server = await startApp(root, {
    '/': { 'hooks.before_handler': () => { rec.push('app'); }, 'hooks.on_end_request': rec.endSignal() },
    '/quiet': { 'hooks.before_handler': [] },
    '/loud': { 'hooks.before_handler': [() => { rec.push('loud-1'); }, () => { rec.push('loud-2'); }] },
  });
  t.after(() => server.close());
  await get(server.url + '/a');
  await rec.ended(1);
  assert.deepEqual(rec.take(), ['app']);
  await get(server.url + '/quiet/page');
  await rec.ended(2);
  assert.deepEqual(rec.take(), []);
  await get(server.url + '/loud/page');
  await rec.ended(3);
  assert.deepEqual(rec.take(), ['loud-1', 'loud-2']);
});

// ---------------------------------------------------------------------------
// User tools

interface StampOptions { value: string; header: string }
const stampRuns: string[] = [];
defineTool<StampOptions>({
  name: 'hooks_test_stamp',
  point: 'before_finalize',
  priority: 40,
  defaults: { value: 'default', header: 'X-Stamp' },
  run({ response, request }, { value, header }) {
    stampRuns.push(request.path);
    response.headers.set(header, value);
  },
});

test('a user tool via defineTool: switched by tools.<name>.on, options from any level, deeper wins', async (t) => {
  class Shop {
    static _cp_config: Config = { 'tools.hooks_test_stamp.value': 'class' };
    @expose() index() { return 'shop'; }
    @expose({ 'tools.hooks_test_stamp.value': 'handler', 'tools.hooks_test_stamp.header': 'X-Other' }) item() { return 'item'; }
    @expose({ 'tools.hooks_test_stamp.on': false }) plain() { return 'plain'; }
  }
  const root = {
    index: exposed(() => 'root'),
    shop: new Shop(),
    blog: { index: exposed(() => 'blog'), post: exposed(() => 'post') },
    off: { index: exposed(() => 'off') },
    handlerOnly: exposed(() => 'handler only', { 'tools.hooks_test_stamp.on': true }),
  };
  const server = await startApp(root, {
    '/shop': { 'tools.hooks_test_stamp.on': true },
    '/blog': { 'tools.hooks_test_stamp.on': true, 'tools.hooks_test_stamp.value': 'section' },
    '/blog/post': { 'tools.hooks_test_stamp.value': 'deeper section' },
  }, { 'tools.hooks_test_stamp.value': 'global' });
  t.after(() => server.close());
  const stamp = async (path: string, header = 'x-stamp'): Promise<string | null> => {
    const res = await get(server.url + path);
    assert.equal(res.status, 200, path);
    return res.headers.get(header);
  };
  stampRuns.length = 0;
  assert.equal(await stamp('/'), null); // off by default
  assert.equal(await stamp('/off/'), null);
  assert.equal(await stamp('/handlerOnly'), 'global'); // switched on by the handler, option from global
  assert.equal(await stamp('/shop/'), 'class'); // class option beats global
  assert.equal(await stamp('/shop/item', 'x-other'), 'handler');
  assert.equal(await stamp('/shop/item', 'x-stamp'), null);
  assert.equal(await stamp('/shop/plain'), null); // switched off by the handler
  assert.equal(await stamp('/blog/'), 'section');
  assert.equal(await stamp('/blog/post'), 'deeper section');
  assert.deepEqual(stampRuns, ['/handlerOnly', '/shop/', '/shop/item', '/shop/item', '/blog/', '/blog/post']);
});

test('a tool runs at its point, ordered with hooks by priority', async (t) => {
  const order: string[] = [];
  defineTool({
    name: 'hooks_test_order',
    point: 'before_handler',
    priority: 30,
    defaults: {},
    run() { order.push('tool p30'); },
  });
  const root = { index: exposed(() => { order.push('handler'); return 'ok'; }) };
  const server = await startApp(root, {
    '/': {
      'tools.hooks_test_order.on': true,
      'hooks.before_handler': [{ run: () => { order.push('hook p10'); }, priority: 10 }, { run: () => { order.push('hook p50'); } }],
    },
  });
  t.after(() => server.close());
  await get(server.url + '/');
  assert.deepEqual(order, ['hook p10', 'tool p30', 'hook p50', 'handler']);
});

test('a tool with an unknown option, or a wrongly typed one, fails at start-up', () => {
  assert.throws(() => new App({}, { '/': { 'tools.hooks_test_stamp.valeu': 'x' } }), (e: unknown) => e instanceof DrupeError && e.message.includes("'tools.hooks_test_stamp.valeu'"));
  assert.throws(() => new App({}, { '/': { 'tools.hooks_test_stamp.value': 3 } }), (e: unknown) => e instanceof DrupeError && e.message.includes("'tools.hooks_test_stamp.value'"));
});

// ---------------------------------------------------------------------------
// A hook answering instead of the handler

test('a hook that sets response.body and request.handler = null answers instead of the handler (like staticdir)', async (t) => {
  let handlerCalls = 0;
  const serveFiles = ({ request, response }: Context): void => {
    const name = request.path.slice('/files/'.length);
    if (name === '' || name.startsWith('missing')) return; // not ours: dispatch goes on
    response.headers.set('Content-Type', 'text/plain');
    response.body = `file ${name}`;
    request.handler = null;
  };
  const root = {
    index: exposed(() => 'root'),
    files: { exists: exposed(() => { handlerCalls++; return 'handler output'; }), default: exposed(({ args }: Context) => `fallback ${args.join('/')}`) },
  };
  const server = await startApp(root, { '/files': { 'hooks.before_handler': serveFiles, 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Finalized', '1'); } } });
  t.after(() => server.close());
  const own = await get(server.url + '/files/exists');
  assert.equal(own.text, 'file exists');
  assert.equal(own.headers.get('content-type'), 'text/plain');
  assert.equal(own.headers.get('content-length'), String('file exists'.length));
  assert.equal(own.headers.get('x-finalized'), '1'); // later points still run
  assert.equal(handlerCalls, 0);
  assert.equal((await get(server.url + '/files/a/b.txt')).text, 'file a/b.txt');
  assert.equal((await get(server.url + '/files/missing.txt')).text, 'fallback missing.txt');
});

test('a hook can answer a path that has no handler at all', async (t) => {
  const root = { index: exposed(() => 'root') };
  const server = await startApp(root, {
    '/static': {
      'hooks.before_handler': ({ request, response }: Context) => {
        if (request.path.endsWith('.css')) {
          response.headers.set('Content-Type', 'text/css');
          response.body = 'body{}';
          request.handler = null;
        }
      },
    },
  });
  t.after(() => server.close());
  const css = await get(server.url + '/static/site.css');
  assert.equal(css.status, 200);
  assert.equal(css.text, 'body{}');
  assert.equal((await get(server.url + '/static/site.js')).status, 404);
  assert.equal((await get(server.url + '/site.css')).status, 404);
  // HEAD on the hook's answer: the GET length, no body.
  const r = await rawRequest(server.port, 'HEAD /static/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r.responses[0]!.headers['content-length'], '6');
  assert.equal(r.responses[0]!.body.length, 0);
});

// ---------------------------------------------------------------------------
// Hook lists are per route and stable

test('hook lists are stable across many requests: the same hooks, once each, every time', async (t) => {
  const rec = new Recorder();
  const root = { a: exposed(() => 'a'), b: { index: exposed(() => 'b') }, default: exposed(({ args }: Context) => `d ${args.join('/')}`) };
  const server = await startApp(root, {
    '/': {
      'tools.hooks_test_stamp.on': true,
      'hooks.before_handler': [() => { rec.push('x'); }, { run: () => { rec.push('y'); }, priority: 10 }],
      'hooks.on_end_request': rec.endSignal(),
    },
    '/b': { 'tools.hooks_test_stamp.value': 'b-value' },
  });
  t.after(() => server.close());
  const paths = ['/a', '/b/', '/zz/1', '/a', '/zz/2'];
  const expectedStamp: Record<string, string> = { '/a': 'default', '/b/': 'b-value', '/zz/1': 'default', '/zz/2': 'default' };
  let n = 0;
  for (let round = 0; round < 60; round++) {
    for (const p of paths) {
      const res = await get(server.url + p);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers.get('x-stamp'), expectedStamp[p], `${p} round ${round}`);
      await rec.ended(++n);
      assert.deepEqual(rec.take(), ['y', 'x'], `${p} round ${round}`);
    }
  }
});

test('concurrent requests on different routes each get their own route hooks', async (t) => {
  const root = { a: { page: exposed(() => 'a') }, b: { page: exposed(() => 'b') } };
  const tag = (v: string): HookEntry => async ({ response }: Context) => { await tick(); response.headers.set('X-Route', v); };
  const server = await startApp(root, { '/a': { 'hooks.before_finalize': tag('a') }, '/b': { 'hooks.before_finalize': tag('b') } });
  t.after(() => server.close());
  const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const which = i % 2 === 0 ? 'a' : 'b';
    const res = await get(`${server.url}/${which}/page`);
    return res.text === which && res.headers.get('x-route') === which;
  }));
  assert.ok(results.every(Boolean));
});
