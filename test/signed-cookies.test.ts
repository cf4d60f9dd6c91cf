// Signed cookies (server.secret_keys) over real sockets: the first key signs, every key
// verifies; a tampered, unsigned or re-named value reads as absent (HOSTILE 52); a key
// under 32 bytes is refused at start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, DrupeError, expose, serve, type Context } from '../src/index.js';
import { start } from './helpers/server.js';
import { cookieOf, sessionGet } from './helpers/session-client.js';

const KEY_A = 'a'.repeat(32) + '-first-key';
const KEY_B = 'b'.repeat(40);

class Site {
  @expose() give({ response }: Context): string {
    response.setCookie('who', 'ann; admin=1', { signed: true, httpOnly: true });
    response.setCookie('plain', 'p');
    return 'given';
  }
  @expose() read({ request }: Context): string {
    return JSON.stringify({ signed: request.signedCookies, plain: request.cookies.plain ?? null });
  }
}

async function given(url: string): Promise<string> {
  const r = await sessionGet(url + '/give');
  assert.equal(r.status, 200, r.text);
  const line = r.setCookies.find((c) => c.startsWith('who='))!;
  assert.match(line, /; HttpOnly$/);
  return line.slice(4).split(';')[0]!; // as sent: percent-encoded value and signature
}

test('a signed cookie reads back through request.signedCookies; the plain one is not there', async (t) => {
  const server = await start(t, new Site(), {}, { 'server.secret_keys': [KEY_A] });
  const raw = await given(server.url);
  assert.match(decodeURIComponent(raw), /^ann; admin=1\.[A-Za-z0-9_-]{43}$/);
  const r = await sessionGet(server.url + '/read', undefined, { cookie: `who=${raw}; plain=p` });
  assert.deepEqual(JSON.parse(r.text), { signed: { who: 'ann; admin=1' }, plain: 'p' });
});

test('HOSTILE 52: a tampered, unsigned, truncated or re-named signed cookie reads as absent', async (t) => {
  const server = await start(t, new Site(), {}, { 'server.secret_keys': [KEY_A] });
  const raw = decodeURIComponent(await given(server.url));
  const dot = raw.lastIndexOf('.');
  const sig = raw.slice(dot + 1);
  const flipped = sig[0] === 'A' ? 'B' + sig.slice(1) : 'A' + sig.slice(1);
  const forged = [
    `who=${encodeURIComponent('bob; admin=1' + raw.slice(dot))}`, // another value, the old signature
    `who=${encodeURIComponent(raw.slice(0, dot + 1) + flipped)}`, // the signature changed
    `who=${encodeURIComponent('ann; admin=1')}`, // unsigned
    `who=${encodeURIComponent(raw.slice(0, -1))}`, // truncated
    `who=${encodeURIComponent(raw + 'A')}`, // lengthened
    `who=${encodeURIComponent(raw.slice(0, dot) + '.' + sig + '=')}`, // padding that decodes to the same bytes
    `other=${encodeURIComponent(raw)}`, // moved to another name
    `who=.${sig}`, // a bare signature
    `who=${'x'.repeat(5000)}`, // long garbage
  ];
  for (const cookie of forged) {
    const r = await sessionGet(server.url + '/read', undefined, { cookie });
    assert.deepEqual(JSON.parse(r.text).signed, {}, cookie.slice(0, 80));
  }
});

test('keys rotate: a cookie signed by the old key still verifies while it is listed, and not once it is dropped', async (t) => {
  const old = await start(t, new Site(), {}, { 'server.secret_keys': [KEY_A] });
  const raw = await given(old.url);
  const rotated = await start(t, new Site(), {}, { 'server.secret_keys': [KEY_B, KEY_A] });
  assert.deepEqual(JSON.parse((await sessionGet(rotated.url + '/read', undefined, { cookie: `who=${raw}` })).text).signed, { who: 'ann; admin=1' });
  const fresh = await given(rotated.url);
  assert.notEqual(fresh, raw, 'the new first key signs');
  const dropped = await start(t, new Site(), {}, { 'server.secret_keys': [KEY_B] });
  assert.deepEqual(JSON.parse((await sessionGet(dropped.url + '/read', undefined, { cookie: `who=${raw}` })).text).signed, {});
  assert.deepEqual(JSON.parse((await sessionGet(dropped.url + '/read', undefined, { cookie: `who=${fresh}` })).text).signed, { who: 'ann; admin=1' });
});

test('without server.secret_keys nothing verifies, and signing is a clear error', async (t) => {
  const server = await start(t, new Site(), {}, { 'request.show_tracebacks': true });
  const r = await sessionGet(server.url + '/give');
  assert.equal(r.status, 500);
  assert.match(r.text, /a signed cookie needs server\.secret_keys/);
  assert.deepEqual(cookieOf(r.setCookies, 'who'), undefined);
  const read = await sessionGet(server.url + '/read', undefined, { cookie: `who=x.${'A'.repeat(43)}` });
  assert.deepEqual(JSON.parse(read.text).signed, {});
});

test('a key shorter than 32 bytes, or keys that are not a list of strings, are refused at start-up', async () => {
  for (const keys of [['short'], [KEY_A, 'x'.repeat(31)], 'a'.repeat(40), [42]]) {
    await assert.rejects(
      serve(new App(new Site()), { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.secret_keys': keys as string[] } }),
      (err: unknown) => err instanceof DrupeError && err.code === 'DRUPE_ERR_CONFIG_VALUE' && /server\.secret_keys.*at least 32 bytes/.test(err.message),
      JSON.stringify(keys),
    );
  }
  // Server-wide only: a path section may not set it.
  assert.throws(() => new App(new Site(), { '/': { 'server.secret_keys': [KEY_A] } }), (err: unknown) => err instanceof DrupeError && err.code === 'DRUPE_ERR_CONFIG_KEY');
});
