// Sessions across processes, for real (issue 17 part 6): a real redis-server, two real Drupe
// processes (test/fixtures/sessions-site.ts, each from its own config file) and a real nginx in
// front running the block of docs/sessions.md. Every answer is read through nginx unless
// a test needs one process by name. No assertion times anything: order is shown by gates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/index.js';
import { parseResponses } from '../src/testing.js';
import { within } from './helpers/async.js';
import { startRedis } from './helpers/redis.js';
import { call, startSite, type Answer, type Site } from './helpers/site.js';

/** Each process's name → how many of `answers` it served. */
function perProcess(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.servedBy] = (counts[a.servedBy] ?? 0) + 1;
  return counts;
}

/** Log in as `user` through nginx; the session cookie the site set. */
async function login(site: Site, user: string): Promise<{ cookie: string; answer: Answer }> {
  const answer = await call(site.port, `/login?user=${user}`);
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.body, `logged in as ${user}`);
  assert.ok(answer.cookie !== undefined, `the login set a session cookie: ${JSON.stringify(answer.headers['set-cookie'])}`);
  return { cookie: answer.cookie, answer };
}

/** GETs of `path` through nginx until every process has answered one (at most 20). */
async function fromEveryProcess(site: Site, path: string, cookie?: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  const names = new Set<string>();
  for (let i = 0; i < 20 && names.size < site.processes.length; i++) {
    const a = await call(site.port, path, cookie);
    answers.push(a);
    names.add(a.servedBy);
  }
  assert.equal(names.size, site.processes.length, `every process answered ${path}: ${JSON.stringify(perProcess(answers))}`);
  return answers;
}

/** The processes are the ones started: none exited (no restart behind the test's back). */
function allAlive(site: Site): void {
  for (const p of site.processes) {
    assert.equal(p.spawned.child.exitCode, null, `${p.name} still runs: ${p.spawned.output()}`);
    assert.equal(p.spawned.child.signalCode, null, `${p.name} still runs`);
  }
}

test("docs/sessions.md's config file loads as shown: storage_type = \"redis\" with its redis_url on the next line", () => {
  const page = readFileSync(new URL('../../docs/sessions.md', import.meta.url), 'utf8');
  const blocks = [...page.matchAll(/^```ini\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, 'the page shows one config file');
  // In a CherryPy config file the order of a section's keys does not matter: both lines are there.
  const { global, sections } = parseConfig(blocks[0]!);
  assert.deepEqual(global['server.secret_keys'], ['replace-with-the-same-32-or-more-random-bytes']);
  assert.equal(sections['/']?.['tools.sessions.storage_type'], 'redis');
  assert.equal(sections['/']?.['tools.sessions.redis_url'], 'redis://127.0.0.1:6379/0');
  assert.equal(sections['/health']?.['tools.sessions.on'], false);
});

test('a login answered by one process is seen by the other, through nginx', async (t) => {
  const redis = await startRedis(t);
  const site = await startSite(t, redis.url);

  const before = await call(site.port, '/whoami');
  assert.equal(before.status, 200, before.body);
  assert.equal(before.body, 'nobody');

  // Against fixation, login gives a new id: the one the client held before is not the logged-in one.
  const anonymous = before.cookie;
  const first = await call(site.port, '/login?user=alice', anonymous);
  assert.equal(first.status, 200, first.body);
  assert.equal(first.body, 'logged in as alice');
  assert.ok(first.cookie !== undefined, 'the login set the session cookie');
  if (anonymous !== undefined) assert.notEqual(first.cookie, anonymous, 'regenerate() at login: a new id');

  const seen = await fromEveryProcess(site, '/whoami', first.cookie);
  for (const a of seen) assert.equal(a.status, 200, a.body);
  for (const a of seen) assert.equal(a.body, 'alice', `${a.servedBy} sees the login that ${first.servedBy} answered`);
  assert.ok(seen.some((a) => a.servedBy !== first.servedBy), 'the other process answered too');
  t.diagnostic(`login answered by ${first.servedBy}; whoami answered by ${JSON.stringify(perProcess(seen))}`);

  // The id from before the login carries no login.
  if (anonymous !== undefined) {
    const old = await call(site.port, '/whoami', anonymous);
    assert.equal(old.body, 'nobody');
  }
  allAlive(site);
});

test("200 concurrent increments of one session's counter under locking 'early' end at exactly 200, across both processes", async (t) => {
  const redis = await startRedis(t);
  const site = await startSite(t, redis.url);
  const { cookie } = await login(site, 'bob');

  const answers = await within(Promise.all(Array.from({ length: 200 }, () => call(site.port, '/count', cookie, 90_000))), '200 increments', 120_000);
  const failed = answers.filter((a) => a.status !== 200);
  assert.deepEqual(failed.map((a) => `${a.status} ${a.body}`), [], 'every increment was answered 200');
  // Serialized by the lock in Redis: each request read the value the one before it wrote.
  const values = answers.map((a) => Number(a.body)).sort((a, b) => a - b);
  assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => i + 1), 'every value from 1 to 200 handed out exactly once');
  const served = perProcess(answers);
  for (const p of site.processes) assert.ok((served[p.name] ?? 0) > 0, `${p.name} served some increments: ${JSON.stringify(served)}`);
  t.diagnostic(`200 increments served by ${JSON.stringify(served)}`);

  const after = await call(site.port, '/count', cookie);
  assert.equal(after.body, '201', 'the counter stood at exactly 200');
  allAlive(site);
});

test('a streamed response passes nginx chunk by chunk while the same session keeps answering', async (t) => {
  const redis = await startRedis(t);
  const site = await startSite(t, redis.url);
  const { cookie } = await login(site, 'carol');
  // Both processes have their Redis connection before the figures below are taken (the first
  // request of a process opens it).
  for (const a of await fromEveryProcess(site, '/whoami', cookie)) assert.equal(a.body, 'carol');

  const socket = net.connect({ port: site.port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  let text = '';
  const arrivals: string[] = [];
  socket.setEncoding('latin1');
  // When each chunk arrived, reported (never asserted): the figures of the closing note.
  const at: Record<string, number> = { sent: performance.now() };
  socket.on('data', (d: string) => {
    text += d;
    if (text.includes('one\n') && !arrivals.includes('chunk one')) { arrivals.push('chunk one'); at['chunk one'] = performance.now(); }
    if (text.includes('two\n') && !arrivals.includes('chunk two')) { arrivals.push('chunk two'); at['chunk two'] = performance.now(); }
  });
  const closed = once(socket, 'close');
  socket.write(`GET /feed?gate=g1 HTTP/1.1\r\nHost: 127.0.0.1:${site.port}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
  await within(new Promise<void>((resolve) => {
    const check = (): void => { if (arrivals.includes('chunk one')) { socket.off('data', check); resolve(); } };
    socket.on('data', check);
    check();
  }), 'the first chunk through nginx', 30_000);
  const streamer = /\r\nX-Served-By: (\S+)\r\n/i.exec(text)?.[1];
  assert.ok(streamer !== undefined, text);
  assert.match(text, /\r\nTransfer-Encoding: chunked\r\n/i);

  // The stream holds neither the session nor its lock: the same session is answered now, by either process.
  const during = await Promise.all([call(site.port, '/count', cookie), call(site.port, '/whoami', cookie)]);
  arrivals.push('second request answered');
  for (const a of during) assert.equal(a.status, 200, a.body);
  assert.equal(during[0]!.body, '1');
  assert.equal(during[1]!.body, 'carol');

  // Only now does the second chunk exist: the gate is opened on the process that streams.
  const owner = site.processes.find((p) => p.name === streamer);
  assert.ok(owner !== undefined, streamer);
  at.open = performance.now();
  const opened = await call(owner.port, '/open?gate=g1');
  assert.equal(opened.body, 'opened');
  await within(closed, 'nginx to end the stream', 30_000);
  assert.deepEqual(arrivals, ['chunk one', 'second request answered', 'chunk two']);
  const [res] = parseResponses(Buffer.from(text, 'latin1'));
  assert.equal(res?.status, 200, text);
  assert.equal(res.body.toString(), 'one\ntwo\n', JSON.stringify(text));
  assert.equal(res.complete, true, 'the terminating chunk came through');

  // The stream's own session write was saved (before its first chunk) and is seen by both processes.
  const counts = await fromEveryProcess(site, '/whoami', cookie);
  for (const a of counts) assert.equal(a.body, 'carol');
  const ms = (from: string, to: string): string => `${((at[to] ?? NaN) - (at[from] ?? NaN)).toFixed(1)} ms`;
  t.diagnostic(`through nginx: first chunk ${ms('sent', 'chunk one')} after the request; second chunk ${ms('open', 'chunk two')} after the gate was opened`);
  t.diagnostic(`stream served by ${streamer}; during it /count by ${during[0]!.servedBy}, /whoami by ${during[1]!.servedBy}`);
  allAlive(site);
});

test('Redis stopped mid-test: session routes get 503 with Retry-After, the rest keeps answering, and sessions come back with Redis, without a restart', async (t) => {
  const redis = await startRedis(t);
  const site = await startSite(t, redis.url);
  const { cookie } = await login(site, 'dave');
  assert.equal((await call(site.port, '/count', cookie)).body, '1');
  const pids = site.processes.map((p) => p.spawned.child.pid);

  await redis.stop();

  const assert503 = (a: Answer, what: string): void => {
    assert.equal(a.status, 503, `${what}: ${a.status} ${a.body}`);
    assert.match(String(a.headers['retry-after'] ?? ''), /^\d+$/, `${what} says when to retry`);
  };
  // Through nginx and from each process directly: both answer, neither hangs.
  assert503(await call(site.port, '/count', cookie), '/count through nginx');
  assert503(await call(site.port, '/whoami', cookie), '/whoami through nginx');
  assert503(await call(site.port, '/login?user=eve'), 'a login without a cookie');
  for (const p of site.processes) {
    assert503(await call(p.port, '/count', cookie), `/count on ${p.name}`);
    assert503(await call(p.port, '/whoami', cookie), `/whoami on ${p.name}`);
    // A client without a session asks nothing of the store until there is something to save.
    assert.equal((await call(p.port, '/whoami')).body, 'nobody');
    assert503(await call(p.port, '/login?user=eve'), `a login on ${p.name}`);
  }
  const plain = await fromEveryProcess(site, '/plain');
  for (const a of plain) {
    assert.equal(a.status, 200, `/plain from ${a.servedBy} while Redis is gone`);
    assert.equal(a.body, 'plain');
  }

  await redis.start();

  // The same processes reconnect by themselves; the restarted Redis is empty, so dave's session is gone.
  let back: Answer | undefined;
  for (let i = 0; i < 100; i++) {
    back = await call(site.port, '/whoami', cookie);
    if (back.status === 200) break;
    assert503(back, `/whoami while Redis comes back (try ${i + 1})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(back?.status, 200, 'sessions answer again once Redis is back');
  assert.equal(back.body, 'nobody', 'the session kept only in the lost Redis is gone: a fresh one');
  // Both processes, not only the first to reconnect: a login (a save) on each, directly.
  for (const p of site.processes) {
    let a: Answer | undefined;
    for (let i = 0; i < 100; i++) {
      a = await call(p.port, '/login?user=grace');
      if (a.status === 200) break;
      assert503(a, `a login on ${p.name} while Redis comes back`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(a?.status, 200, `${p.name} saves sessions again`);
  }
  const again = await login(site, 'frank');
  const seen = await fromEveryProcess(site, '/whoami', again.cookie);
  for (const a of seen) assert.equal(a.body, 'frank', `${a.servedBy} sees the new login`);
  assert.equal((await call(site.port, '/count', again.cookie)).body, '1');
  assert.deepEqual(site.processes.map((p) => p.spawned.child.pid), pids, 'the same processes');
  allAlive(site);
});

test('HOSTILE 58: Redis killed while the site is under load: every answer is a 200 or a bounded 503 with Retry-After, routes without sessions never fail, nothing dies or hangs', async (t) => {
  const redis = await startRedis(t);
  const site = await startSite(t, redis.url);
  const CLIENTS = 16;
  const cookies = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => (await login(site, `user${i}`)).cookie));

  type Phase = 'up' | 'down' | 'back';
  let phase: Phase = 'up';
  /** `phase`: when the request was sent; `answeredIn`: when its answer came. */
  const seen: { phase: Phase; answeredIn: Phase; path: string; answer: Answer }[] = [];
  let stop = false;
  // Each client alternates a session route and a route without sessions, until told to stop (bounded).
  const clients = cookies.map(async (cookie) => {
    for (let i = 0; i < 2000 && !stop; i++) {
      const path = i % 2 === 0 ? '/count' : '/plain';
      const at = phase;
      const answer = await call(site.port, path, cookie, 30_000);
      seen.push({ phase: at, answeredIn: phase, path, answer });
    }
  });
  const answered = (p: Phase, path: string): number => seen.filter((s) => s.phase === p && s.path === path).length;
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 3000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(cond(), `timed out waiting for ${what}`);
  };
  try {
    await until(() => answered('up', '/count') >= 100, '100 increments with Redis up');
    // The phase moves before the kill: whatever is answered from here on may meet Redis gone.
    phase = 'down';
    await redis.stop();
    await until(() => answered('down', '/count') >= 100 && answered('down', '/plain') >= 100, '100 of each with Redis gone');
    phase = 'back';
    await redis.start();
    // Back: every client gets its session routes answered again (its session is gone with the old Redis).
    await until(() => seen.filter((s) => s.phase === 'back' && s.path === '/count' && s.answer.status === 200).length >= 100, '100 increments answered after Redis is back');
  } finally {
    stop = true;
    await within(Promise.all(clients), 'the clients to finish', 60_000);
  }

  const statuses = (p: Phase, path: string): Record<number, number> => {
    const out: Record<number, number> = {};
    for (const s of seen) if (s.answeredIn === p && s.path === path) out[s.answer.status] = (out[s.answer.status] ?? 0) + 1;
    return out;
  };
  t.diagnostic(`answered with Redis up: /count ${JSON.stringify(statuses('up', '/count'))} /plain ${JSON.stringify(statuses('up', '/plain'))}; gone: /count ${JSON.stringify(statuses('down', '/count'))} /plain ${JSON.stringify(statuses('down', '/plain'))}; back: /count ${JSON.stringify(statuses('back', '/count'))} /plain ${JSON.stringify(statuses('back', '/plain'))}`);
  for (const s of seen) {
    if (s.path === '/plain') {
      assert.equal(s.answer.status, 200, `/plain never fails (${s.phase}): ${s.answer.body}`);
      continue;
    }
    assert.ok(s.answer.status === 200 || s.answer.status === 503, `/count (${s.phase}) is a 200 or a 503, not ${s.answer.status} ${s.answer.body}`);
    if (s.answer.status === 503) assert.match(String(s.answer.headers['retry-after'] ?? ''), /^\d+$/, 'a 503 says when to retry');
    if (s.answeredIn === 'up') assert.equal(s.answer.status, 200, 'no 503 while Redis was up');
  }
  // While Redis was gone, a session route had nothing to answer with but the 503 (a request sent
  // just before the kill may still have been answered 200).
  assert.ok((statuses('down', '/count')[503] ?? 0) > 0, 'session routes got 503 while Redis was gone');
  allAlive(site);
  for (const p of site.processes) {
    const count = await call(p.port, '/count', cookies[0]);
    assert.equal(count.status, 200, `${p.name} answers sessions after the outage`);
  }
});
