import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed } from '../src/index.js';
import { startApp, get } from './helpers/server.js';
import { demoDataDir } from './helpers/demo.js';

test('a tree serves its index over a real socket', async (t) => {
  const server = await startApp({ index: exposed(() => 'Hello') });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'Hello');
  assert.equal(res.headers.get('content-length'), '5');
});

test('the demo (npm start): its account page counts visits in a session, logs in (a new id, the same data), and logs out', async (t) => {
  const { Root, sections, globalConfig } = await import('../examples/demo/site.js');
  const server = await startApp(new Root({ dataDir: demoDataDir(t) }), sections, globalConfig);
  t.after(() => server.close());
  const visit = async (cookie: string): Promise<{ status: number; text: string; cookies: string[] }> => {
    const res = await fetch(server.url + '/account/', { headers: { Cookie: cookie } });
    return { status: res.status, text: await res.text(), cookies: res.headers.getSetCookie() };
  };
  const idIn = (cookies: string[]): string => /session_id=([^;]*)/.exec(cookies.find((c) => c.startsWith('session_id=')) ?? '')?.[1] ?? '';
  const first = await visit('');
  assert.match(first.text, /<b id="visits">1<\/b>/);
  assert.match(first.text, /Not logged in/);
  const id = idIn(first.cookies);
  assert.match(id, /^[A-Za-z0-9_-]{32}$/);
  assert.match((await visit(`session_id=${id}`)).text, /<b id="visits">2<\/b>/);
  const login = await fetch(server.url + '/account/login', {
    method: 'POST', redirect: 'manual', headers: { Cookie: `session_id=${id}`, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user=demo&password=demo',
  });
  assert.equal(login.status, 303);
  const cookies = login.headers.getSetCookie();
  const newId = idIn(cookies);
  assert.notEqual(newId, id, 'login regenerates the id');
  const signed = /last_user=([^;]*)/.exec(cookies.find((c) => c.startsWith('last_user=')) ?? '')?.[1] ?? '';
  const inside = await visit(`session_id=${newId}; last_user=${signed}`);
  assert.match(inside.text, /Logged in as <b>demo<\/b>/);
  assert.match(inside.text, /<b id="visits">3<\/b>/, 'the visits came along');
  assert.match((await visit(`session_id=${id}`)).text, /<b id="visits">1<\/b>/, 'the pre-login id is forgotten');
  const logout = await fetch(server.url + '/account/logout', { method: 'POST', redirect: 'manual', headers: { Cookie: `session_id=${newId}` } });
  assert.equal(logout.status, 303);
  assert.match(logout.headers.getSetCookie().join('\n'), /session_id=; Max-Age=0/);
  const after = await visit(`session_id=${newId}; last_user=${signed}`);
  assert.match(after.text, /Not logged in/);
  assert.match(after.text, /value="demo"/, 'the signed cookie remembers the name');
  assert.doesNotMatch((await visit(`last_user=${encodeURIComponent('eve.' + 'A'.repeat(43))}`)).text, /value="eve"/, 'a forged one is ignored');
  const wrong = await fetch(server.url + '/account/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user=demo&password=nope' });
  assert.equal(wrong.status, 403);
});
