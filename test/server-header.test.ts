// The Server header: 'Drupe' on every response by default (buffered,
// streamed, error pages, a malformed target), once; `response.headers.server`
// changes it per subtree or, as '', leaves it out; a response's own Server
// header wins. Asserted on the raw head, so a repeated header would show.
// Its config checks are in config.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, type Context } from '../src/index.js';
import type { ParsedResponse } from '../src/testing.js';
import { one } from './helpers/http.js';
import { startApp } from './helpers/server.js';

/** Every value of the Server header, as sent. */
const servers = (r: ParsedResponse): string[] => r.rawHeaders.filter(([n]) => n.toLowerCase() === 'server').map(([, v]) => v);

function* chunks(): Generator<string> { yield 'a'; yield 'b'; }

const tree = (): object => ({
  plain: exposed(() => 'plain'),
  typed: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain'); return 'typed'; }),
  streamed: exposed(() => chunks(), { 'response.stream': true }),
  own: exposed(({ response }: Context) => { response.headers.set('Server', 'Mine/2'); return 'own'; }),
  quiet: exposed(() => 'quiet', { 'response.headers.server': '' }),
  api: { index: exposed(() => 'api'), deeper: { index: exposed(() => 'deeper') } },
});

// Each kind of response Drupe writes: the literal head, a head with headers of its own,
// a streamed one, an error page, and a 400 for a target that never reaches a route.
const KINDS = ['/plain', '/typed', '/streamed', '/missing', '/%zz'];

test('by default every kind of response carries Server: Drupe once, and a Date', async (t) => {
  const server = await startApp(tree());
  t.after(() => server.close());
  for (const target of KINDS) {
    const r = await one(server.port, 'GET', target);
    assert.deepEqual(servers(r), ['Drupe'], target);
    assert.ok(r.headers.date, target);
  }
  assert.equal((await one(server.port, 'GET', '/%zz')).status, 400);
});

test("global response.headers.server: '' leaves the header out of every kind of response", async (t) => {
  const server = await startApp(tree(), {}, { 'response.headers.server': '' });
  t.after(() => server.close());
  for (const target of KINDS) {
    const r = await one(server.port, 'GET', target);
    assert.deepEqual(servers(r), [], target);
    assert.ok(r.headers.date, target);
  }
  const streamed = await one(server.port, 'GET', '/streamed');
  assert.equal(streamed.body.toString(), 'ab');
  assert.equal(streamed.headers['transfer-encoding'], 'chunked');
  const plain = await one(server.port, 'GET', '/plain');
  assert.equal(plain.body.toString(), 'plain');
  assert.equal(plain.headers['content-length'], '5');
});

test('response.headers.server follows the tree: a section changes its subtree, a handler can drop it', async (t) => {
  const server = await startApp(tree(), { '/api': { 'response.headers.server': 'Api/1' } }, { 'response.headers.server': 'Site' });
  t.after(() => server.close());
  assert.deepEqual(servers(await one(server.port, 'GET', '/plain')), ['Site']);
  assert.deepEqual(servers(await one(server.port, 'GET', '/missing')), ['Site']);
  assert.deepEqual(servers(await one(server.port, 'GET', '/%zz')), ['Site'], 'a target with no route gets the global value');
  assert.deepEqual(servers(await one(server.port, 'GET', '/api/')), ['Api/1']);
  assert.deepEqual(servers(await one(server.port, 'GET', '/api/deeper/')), ['Api/1']);
  assert.deepEqual(servers(await one(server.port, 'GET', '/api/nothing-here')), ['Api/1'], "the subtree's error pages too");
  assert.deepEqual(servers(await one(server.port, 'GET', '/quiet')), []);
});

test("a response's own Server header wins over the default and over ''", async (t) => {
  const plain = await startApp(tree());
  t.after(() => plain.close());
  assert.deepEqual(servers(await one(plain.port, 'GET', '/own')), ['Mine/2']);
  const quiet = await startApp(tree(), {}, { 'response.headers.server': '' });
  t.after(() => quiet.close());
  assert.deepEqual(servers(await one(quiet.port, 'GET', '/own')), ['Mine/2']);
});
