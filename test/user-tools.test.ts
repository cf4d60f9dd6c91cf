// User tools (issue 4 part 9): defineTool with typed options, name rules,
// duplicates, option checks at start-up, options from every config level,
// and tools at the hook points — the same door the built-ins use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, DrupeError, HTTPError, defineTool, expose, exposed, type Config, type Context, type Tool } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { req } from './helpers/http.js';

async function ask(port: number, path: string, method = 'GET'): Promise<ParsedResponse> {
  const r = await rawRequest(port, req(path, { method, headers: { Connection: 'close' } }));
  assert.equal(r.responses.length, 1, r.text);
  return r.responses[0]!;
}

function isToolError(err: unknown): boolean {
  return err instanceof DrupeError && err.code === 'DRUPE_ERR_TOOL';
}

// A tool whose options type is inferred from its defaults.
const stamp = defineTool({
  name: 'user_tools_stamp',
  point: 'before_finalize',
  defaults: { header: 'X-Stamp', value: 'default', times: 1 },
  run({ response }, o) {
    // @ts-expect-error options are readonly
    if (false as boolean) o.value = 'changed';
    // @ts-expect-error no such option
    void (false as boolean && o.nope);
    const times: number = o.times;
    response.headers.set(o.header, o.value.repeat(times));
  },
});

// A tool with a declared options interface, a null default that takes a function, and a list.
interface GateOptions {
  allowIf: ((ctx: Context) => boolean) | null;
  paths: readonly string[];
}
const gate: Tool<GateOptions> = defineTool<GateOptions>({
  name: 'user_tools_gate',
  point: 'on_start_resource',
  priority: 5,
  defaults: { allowIf: null, paths: [] },
  run(ctx, { allowIf, paths }) {
    if (paths.length > 0 && !paths.includes(ctx.request.path)) return;
    if (allowIf !== null && !allowIf(ctx)) throw new HTTPError(403, 'Gate closed');
  },
});

test('defineTool returns the tool, typed; its options come from every config level, deeper wins option by option', async (t) => {
  assert.equal(stamp.name, 'user_tools_stamp');
  assert.deepEqual(stamp.defaults, { header: 'X-Stamp', value: 'default', times: 1 });
  class Shop {
    static _cp_config: Config = { 'tools.user_tools_stamp.value': 'class' };
    @expose() index(): string { return 'shop'; }
    @expose({ 'tools.user_tools_stamp.times': 2 }) item(): string { return 'item'; }
    @expose({ 'tools.user_tools_stamp.on': false }) plain(): string { return 'plain'; }
  }
  const root = { shop: new Shop(), blog: { index: exposed(() => 'blog') }, other: exposed(() => 'other'), own: exposed(() => 'own', { 'tools.user_tools_stamp.on': true }) };
  const server = await startApp(root, {
    '/shop': { 'tools.user_tools_stamp.on': true, 'tools.user_tools_stamp.header': 'X-Shop' },
    '/blog': { 'tools.user_tools_stamp.on': true },
  });
  t.after(() => server.close());
  assert.equal((await ask(server.port, '/shop/')).headers['x-shop'], 'class');
  assert.equal((await ask(server.port, '/shop/item')).headers['x-shop'], 'classclass');
  assert.equal((await ask(server.port, '/shop/plain')).headers['x-shop'], undefined);
  assert.equal((await ask(server.port, '/blog/')).headers['x-stamp'], 'default');
  assert.equal((await ask(server.port, '/other')).headers['x-stamp'], undefined, 'off unless switched on');
  assert.equal((await ask(server.port, '/own')).headers['x-stamp'], 'default', 'switched on by handler config alone');
});

test('a null default takes any value (a function here), checked by the tool; a list option takes a list', async (t) => {
  assert.equal(gate.priority, 5);
  const root = { open: exposed(() => 'open'), closed: exposed(() => 'closed'), listed: exposed(() => 'listed') };
  const server = await startApp(root, {
    '/': { 'tools.user_tools_gate.on': true },
    '/closed': { 'tools.user_tools_gate.allowIf': () => false },
    '/listed': { 'tools.user_tools_gate.allowIf': () => false, 'tools.user_tools_gate.paths': ['/elsewhere'] },
  });
  t.after(() => server.close());
  assert.equal((await ask(server.port, '/open')).status, 200);
  assert.equal((await ask(server.port, '/closed')).status, 403);
  assert.equal((await ask(server.port, '/listed')).status, 200);
  assert.throws(() => new App(root, { '/': { 'tools.user_tools_gate.paths': '/x' } }), /expected a list/);
});

test('tool names: lower-case letters, digits and _, starting with a letter; anything else is DRUPE_ERR_TOOL', () => {
  for (const name of ['Bad', '1tool', 'a-b', '', 'has space', '_private', 'dot.ted', 'ünï']) {
    assert.throws(() => defineTool({ name, point: 'before_handler', defaults: {}, run() { /* nothing */ } }), isToolError, JSON.stringify(name));
  }
  assert.ok(defineTool({ name: 'user_tools_ok_2', point: 'before_handler', defaults: {}, run() { /* nothing */ } }));
});

test('a name already taken — by a built-in or a user tool — is DRUPE_ERR_TOOL; the same tool object twice is fine', () => {
  const builtIns = ['gzip', 'json_in', 'json_out', 'response_headers', 'expires', 'allow', 'proxy', 'auth_basic', 'cors', 'trailing_slash', 'etags', 'staticdir', 'staticfile'];
  for (const name of builtIns) {
    assert.throws(() => defineTool({ name, point: 'before_handler', defaults: {}, run() { /* nothing */ } }), isToolError, name);
  }
  assert.throws(() => defineTool({ ...stamp }), isToolError, 'another object with the same name');
  assert.equal(defineTool(stamp), stamp);
});

test('config keys of a tool are checked at start-up: unknown option (with the list), wrong type, tools.<name> without option', () => {
  const root = { index: exposed(() => 'x') };
  const fails = (config: Config, ...parts: string[]): void => {
    assert.throws(() => new App(root, { '/': config }), (err: unknown) => {
      assert.ok(err instanceof DrupeError, String(err));
      for (const p of parts) assert.ok(err.message.includes(p), `${err.message} should mention ${p}`);
      return true;
    });
  };
  fails({ 'tools.user_tools_stamp.valeu': 'x' }, "'tools.user_tools_stamp.valeu'", 'header, value, times');
  fails({ 'tools.user_tools_stamp.times': '2' }, 'expected a number');
  fails({ 'tools.user_tools_stamp.on': 1 }, 'expected a boolean');
  fails({ 'tools.user_tools_stamp': true }, 'tools.<name>.<option>');
  fails({ 'tools.user_tools_nope.on': true }, "no tool named 'user_tools_nope'");
});

test('tools at the hook points: one may answer the request itself, throw an HTTP error, run async, or still run after a failure (failsafe)', async (t) => {
  const events: string[] = [];
  defineTool({
    name: 'user_tools_answer',
    point: 'before_handler',
    defaults: { text: 'from the tool' },
    run({ request, response }, { text }) {
      response.body = text;
      request.handler = null;
    },
  });
  defineTool({
    name: 'user_tools_teapot',
    point: 'before_request_body',
    defaults: {},
    async run() {
      await new Promise((resolve) => setImmediate(resolve));
      throw new HTTPError(418);
    },
  });
  defineTool({
    name: 'user_tools_broken',
    point: 'before_finalize',
    priority: 10,
    defaults: {},
    run() { events.push('broken'); throw new Error('tool bug'); },
  });
  defineTool({
    name: 'user_tools_cleanup',
    point: 'before_finalize',
    priority: 20,
    failsafe: true,
    defaults: {},
    run() { events.push('cleanup'); },
  });
  let handled = 0;
  const page = exposed(() => { handled++; return 'handler'; });
  const root = { answer: page, teapot: page, broken: page, frozen: page };
  const server = await startApp(root, {
    '/answer': { 'tools.user_tools_answer.on': true },
    '/teapot': { 'tools.user_tools_teapot.on': true },
    '/broken': { 'tools.user_tools_broken.on': true, 'tools.user_tools_cleanup.on': true },
  });
  t.after(() => server.close());
  const answer = await ask(server.port, '/answer');
  assert.equal(answer.body.toString(), 'from the tool');
  const teapot = await ask(server.port, '/teapot');
  assert.equal(teapot.status, 418);
  assert.equal(handled, 0);
  const broken = await ask(server.port, '/broken');
  assert.equal(broken.status, 500);
  assert.deepEqual(events, ['broken', 'cleanup']);
});

test('options are one frozen object per route', async (t) => {
  const seen = new Set<object>();
  defineTool({
    name: 'user_tools_seen',
    point: 'on_start_resource',
    defaults: { n: 0 },
    run(_ctx, o) {
      assert.ok(Object.isFrozen(o));
      seen.add(o);
    },
  });
  const server = await startApp({ a: exposed(() => 'a'), b: exposed(() => 'b') }, { '/': { 'tools.user_tools_seen.on': true } });
  t.after(() => server.close());
  await ask(server.port, '/a');
  await ask(server.port, '/a');
  assert.equal(seen.size, 1);
  await ask(server.port, '/b');
  assert.equal(seen.size, 2);
});

test('appliesTo is asked once per route, with the path, isIndex and options; false leaves the tool out of that route', async (t) => {
  const asked: Array<[string, boolean | null, string]> = [];
  let runs = 0;
  defineTool({
    name: 'user_tools_scoped',
    point: 'before_handler',
    defaults: { prefix: '/none' },
    appliesTo(route, o) {
      asked.push([route.path, route.isIndex, o.prefix]);
      return route.path.startsWith(o.prefix);
    },
    run({ response }) {
      runs++;
      response.headers.set('X-Scoped', 'yes');
    },
  });
  const root = { docs: { index: exposed(() => 'docs'), page: exposed(() => 'page') }, other: exposed(() => 'other') };
  const server = await startApp(root, { '/': { 'tools.user_tools_scoped.on': true, 'tools.user_tools_scoped.prefix': '/docs' } });
  t.after(() => server.close());
  for (let i = 0; i < 2; i++) {
    assert.equal((await ask(server.port, '/docs/')).headers['x-scoped'], 'yes');
    assert.equal((await ask(server.port, '/docs/page')).headers['x-scoped'], 'yes');
    const other = await ask(server.port, '/other');
    assert.equal(other.status, 200);
    assert.equal(other.headers['x-scoped'], undefined);
  }
  assert.equal(runs, 4);
  assert.deepEqual(asked, [['/docs/', true, '/docs'], ['/docs/page', false, '/docs'], ['/other', false, '/docs']]);
});

test('defineTool with prepare: run gets what prepare made, prepare runs once per route (not per request), and refuses bad values at start-up', async (t) => {
  let prepared = 0;
  const greet = defineTool({
    name: 'user_tools_greet',
    point: 'before_finalize',
    defaults: { words: ['hello'], upper: false },
    prepare({ words, upper }) {
      prepared++;
      if (words.length === 0) throw new Error('tools.user_tools_greet.words: expected at least one word, got []');
      const text = words.join(' ');
      return { header: upper ? text.toUpperCase() : text };
    },
    run({ response }, p) {
      // The prepared value's type is inferred from prepare's return.
      const header: string = p.header;
      // @ts-expect-error run gets the prepared value, not the options
      void (false as boolean && p.words);
      response.headers.set('X-Greet', header);
    },
  });
  // The tool's own type carries both: options from defaults, the prepared value from prepare.
  const typed: Tool<{ words: string[]; upper: boolean }, { header: string }> = greet;
  assert.equal(typed.name, 'user_tools_greet');
  const root = { index: exposed(() => 'home'), loud: exposed(() => 'loud', { 'tools.user_tools_greet.upper': true }) };
  const app = { '/': { 'tools.user_tools_greet.on': true, 'tools.user_tools_greet.words': ['hi', 'there'] } };
  const server = await startApp(root, app);
  t.after(() => server.close());
  assert.ok(prepared >= 2, 'prepare ran at start-up, for each config that sets an option');
  const atStart = prepared;
  for (let i = 0; i < 3; i++) assert.equal((await ask(server.port, '/')).headers['x-greet'], 'hi there');
  assert.equal((await ask(server.port, '/loud')).headers['x-greet'], 'HI THERE');
  assert.equal(prepared - atStart, 2, 'once per route (two routes), not once per request');
  assert.throws(() => new App(root, { '/': { 'tools.user_tools_greet.words': [] } }), (err: unknown) => {
    assert.ok(err instanceof DrupeError);
    assert.equal(err.code, 'DRUPE_ERR_CONFIG_VALUE');
    assert.equal(err.message, "Config key 'tools.user_tools_greet.words' in section '/': expected at least one word, got []");
    return true;
  });
  // Any other error from prepare is named with its tool and section.
  defineTool({
    name: 'user_tools_picky',
    point: 'before_handler',
    defaults: { mode: 'a' },
    prepare({ mode }) {
      if (mode !== 'a' && mode !== 'b') throw new RangeError(`mode must be a or b, not ${mode}`);
      return mode;
    },
    run({ response }, mode) { response.headers.set('X-Mode', mode); },
  });
  assert.throws(() => new App(root, { '/': { 'tools.user_tools_picky.mode': 'c' } }), {
    code: 'DRUPE_ERR_CONFIG_VALUE',
    message: "Options of tools.user_tools_picky in section '/': mode must be a or b, not c",
  });
});
