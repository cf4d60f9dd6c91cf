// Logs for operators (issue 15 part 6): log.format 'json' (pino's shape), request ids from a
// trusted proxy echoed through request.id_header, and no access line lost at close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { exposed, type Config } from '../src/index.js';
import { waitFor } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { one, raw } from './helpers/http.js';
import { startApp } from './helpers/server.js';
import { Logger } from '../src/core/log.js';

interface Logs { access: string; error: string; config: Config }

function logFiles(t: { after(fn: () => unknown): void }, json = true): Logs {
  const dir = tempDir(t, 'drupe-json-log-');
  const access = join(dir, 'access.log');
  const error = join(dir, 'error.log');
  const config: Config = { 'log.access_file': access, 'log.error_file': error, 'log.screen': false };
  if (json) config['log.format'] = 'json';
  return { access, error, config };
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

/** Every line parses as one JSON object. */
function records(file: string): Array<Record<string, unknown>> {
  return lines(file).map((l) => {
    const v: unknown = JSON.parse(l);
    assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), l);
    return v as Record<string, unknown>;
  });
}

test("log.format 'json': access lines as pino writes them, plus outcome, ttfb and bytes", async (t) => {
  const logs = logFiles(t);
  const server = await startApp({
    x: exposed(() => 'Hello'),
    feed: exposed(function* () { yield 'a'; yield 'bc'; }, { 'response.stream': true }),
  }, {}, logs.config);
  t.after(() => server.close());
  const before = Date.now();
  assert.equal((await one(server.port, 'GET', '/x?q="1"')).status, 200);
  assert.equal((await one(server.port, 'GET', '/feed')).status, 200);
  assert.equal((await one(server.port, 'POST', '/missing')).status, 404);
  await server.close();

  const [x, feed, missing] = records(logs.access);
  assert.equal(records(logs.access).length, 3);
  for (const r of [x!, feed!, missing!]) {
    assert.equal(r.level, 30);
    assert.equal(typeof r.time, 'number');
    assert.ok((r.time as number) >= before && (r.time as number) <= Date.now(), String(r.time));
    assert.equal(r.pid, process.pid);
    assert.equal(r.hostname, hostname());
    assert.equal(typeof r.reqId, 'string');
    assert.equal(typeof r.responseTime, 'number');
    assert.ok((r.responseTime as number) >= 0);
    assert.equal(typeof r.msg, 'string');
    assert.equal(typeof r.bytes, 'number');
  }
  assert.deepEqual(x!.req, { method: 'GET', url: '/x?q="1"', remoteAddress: '127.0.0.1' });
  assert.deepEqual(x!.res, { statusCode: 200 });
  assert.equal(x!.outcome, 'complete');
  assert.equal(x!.bytes, 5);
  assert.equal(x!.msg, 'request completed');
  assert.equal(typeof x!.ttfb, 'number');
  assert.equal(feed!.bytes, 3);
  assert.equal(feed!.outcome, 'complete');
  assert.deepEqual(missing!.req, { method: 'POST', url: '/missing', remoteAddress: '127.0.0.1' });
  assert.deepEqual(missing!.res, { statusCode: 404 });
  assert.notEqual(x!.reqId, feed!.reqId);
});

test("log.format 'json': a failed stream is outcome 'error', and its error line has level 50, reqId and err", async (t) => {
  const logs = logFiles(t);
  const server = await startApp({
    broken: exposed(function* brokenFeed() { yield 'first'; throw new Error('json-stream-broke'); }, { 'response.stream': true }),
    boom: exposed(function boomHandler() { throw new TypeError('json-kaboom'); }),
  }, {}, logs.config);
  t.after(() => server.close());
  const cut = await raw(server.port, 'GET /broken HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(cut.responses[0]!.complete, false);
  // HTTP/1.0: the body goes out close-delimited and its cut cannot be seen.
  await raw(server.port, 'GET /broken HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.equal((await one(server.port, 'GET', '/boom')).status, 500);
  await server.close();

  const [broken, broken10, boom] = records(logs.access);
  assert.equal(broken!.outcome, 'error');
  assert.equal(broken!.msg, 'request errored');
  assert.deepEqual(broken!.res, { statusCode: 200 });
  assert.equal(broken!.truncation, undefined);
  assert.equal(broken10!.outcome, 'error');
  assert.equal(broken10!.truncation, 'invisible');
  assert.deepEqual(boom!.res, { statusCode: 500 });

  const errors = records(logs.error);
  const streamErr = errors.find((e) => e.reqId === broken!.reqId);
  assert.ok(streamErr !== undefined, JSON.stringify(errors));
  assert.equal(streamErr.level, 50);
  assert.equal(typeof streamErr.time, 'number');
  assert.equal(streamErr.pid, process.pid);
  assert.equal(typeof streamErr.msg, 'string');
  const err = streamErr.err as { type: string; message: string; stack: string };
  assert.equal(err.type, 'Error');
  assert.equal(err.message, 'json-stream-broke');
  assert.match(err.stack, /\bbrokenFeed\b/);
  const boomErr = errors.find((e) => e.reqId === boom!.reqId);
  assert.ok(boomErr !== undefined, JSON.stringify(errors));
  assert.equal((boomErr.err as { type: string }).type, 'TypeError');
  assert.equal((boomErr.err as { message: string }).message, 'json-kaboom');
});

test('log.format is checked at start-up', async () => {
  await assert.rejects(startApp({ x: exposed(() => 'x') }, {}, { 'log.format': 'xml' as 'json' }), /log\.format/);
  await assert.rejects(startApp({ x: exposed(() => 'x') }, {}, { 'request.id_header': 'Bad Header' }), /request\.id_header/);
});

test('request.id_header echoes the request id, the one in the access line', async (t) => {
  const logs = logFiles(t);
  const server = await startApp({ x: exposed(() => 'Hello'), boom: exposed(() => { throw new Error('x'); }) }, {}, { ...logs.config, 'request.id_header': 'X-Request-Id' });
  t.after(() => server.close());
  const a = await one(server.port, 'GET', '/x');
  const b = await one(server.port, 'GET', '/boom');
  const c = await one(server.port, 'GET', '/nowhere');
  await server.close();
  const ids = records(logs.access).map((r) => r.reqId);
  assert.deepEqual([a.headers['x-request-id'], b.headers['x-request-id'], c.headers['x-request-id']], ids);
  assert.equal(new Set(ids).size, 3);
});

test('request.id_header is off by default', async (t) => {
  const server = await startApp({ x: exposed(() => 'Hello') });
  t.after(() => server.close());
  const a = await one(server.port, 'GET', '/x', { 'X-Request-Id': 'abc' });
  assert.equal(a.headers['x-request-id'], undefined);
});

test("a trusted proxy's X-Request-Id becomes request.id (valid ones only); an untrusted peer's is ignored", async (t) => {
  const logs = logFiles(t);
  const root = {
    trusted: { x: exposed(function (): string { return 'ok'; }) },
    untrusted: { x: exposed(function (): string { return 'ok'; }) },
  };
  const server = await startApp(root, {
    '/trusted': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1', '::1'] },
    '/untrusted': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['10.9.8.7'] },
  }, { ...logs.config, 'request.id_header': 'X-Request-Id' });
  t.after(() => server.close());
  const a = await one(server.port, 'GET', '/trusted/x', { 'X-Request-Id': 'edge-42.a_b' });
  const b = await one(server.port, 'GET', '/untrusted/x', { 'X-Request-Id': 'forged-7' });
  const c = await one(server.port, 'GET', '/trusted/x', { 'X-Request-Id': 'has space' });
  const d = await one(server.port, 'GET', '/trusted/x', { 'X-Request-Id': 'z'.repeat(129) });
  await server.close();
  assert.equal(a.headers['x-request-id'], 'edge-42.a_b');
  assert.notEqual(b.headers['x-request-id'], 'forged-7');
  assert.notEqual(c.headers['x-request-id'], 'has space');
  assert.notEqual(d.headers['x-request-id'], 'z'.repeat(129));
  const ids = records(logs.access).map((r) => r.reqId);
  assert.deepEqual(ids, [a.headers['x-request-id'], b.headers['x-request-id'], c.headers['x-request-id'], d.headers['x-request-id']]);
  assert.equal(ids[0], 'edge-42.a_b');
});

test('no access line is lost at close: N requests, close(), N lines (both formats)', async (t) => {
  for (const json of [false, true]) {
    const logs = logFiles(t, json);
    const server = await startApp({ x: exposed(() => 'Hello') }, {}, logs.config);
    t.after(() => server.close());
    const N = 40;
    const sent = [];
    for (let i = 0; i < N; i++) sent.push(one(server.port, 'GET', `/x?n=${i}`));
    for (const r of await Promise.all(sent)) assert.equal(r.status, 200);
    await server.close();
    const got = lines(logs.access);
    assert.equal(got.length, N, `format ${json ? 'json' : 'combined'}`);
    if (json) for (const l of got) JSON.parse(l);
  }
});

test('Logger.reopen() starts new files at their paths (logrotate renames, then asks for new ones); close() waits for both', async (t) => {
  const logs = logFiles(t);
  const logger = new Logger({ screen: false, accessFile: logs.access, errorFile: logs.error, format: 'json' });
  logger.error('before rotation');
  // The stream opens and writes in the background: rotate once the line is there.
  await waitFor(() => existsSync(logs.error) && statSync(logs.error).size > 0, 'the first error line');
  renameSync(logs.error, logs.error + '.1');
  logger.reopen();
  logger.error('after rotation', new Error('x'), 'id-1');
  await logger.close();
  assert.deepEqual(records(logs.error + '.1').map((r) => r.msg), ['before rotation']);
  const [after] = records(logs.error);
  assert.equal(after!.msg, 'after rotation');
  assert.equal(after!.reqId, 'id-1');
});
