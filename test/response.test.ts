// The Response a handler shapes: status (number or 'NNN reason'), invalid
// statuses, case-insensitive headers, CR/LF in header values, cookies, the
// default Content-Type, charset encoding, bodiless 204/304 with connection
// reuse, and HEAD — asserted on the raw bytes the server sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, json, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { headerNames, one, rawReq } from './helpers/http.js';
import { start } from './helpers/server.js';

// -- helpers ----------------------------------------------------------------

function statusLine(res: ParsedResponse): string {
  return res.head.slice(0, res.head.indexOf('\r\n'));
}

// -- status --------------------------------------------------------------------

test('status numbers give the standard reason phrase on the raw status line', async (t) => {
  const server = await start(t, {
    s: exposed(({ params, response }: Context) => {
      response.status = Number(params.code);
      return 'body';
    }),
  });
  const cases: Array<[number, string]> = [[200, 'OK'], [201, 'Created'], [202, 'Accepted'], [404, 'Not Found'], [418, "I'm a Teapot"], [503, 'Service Unavailable'], [599, 'Server Error'], [299, 'Unknown']];
  for (const [code, reason] of cases) {
    const res = await one(server.port, 'GET', `/s?code=${code}`);
    assert.equal(statusLine(res), `HTTP/1.1 ${code} ${reason}`);
    assert.equal(res.body.toString(), 'body');
  }
});

test("'NNN reason' sets a custom reason phrase; 'NNN' alone uses the standard one", async (t) => {
  const server = await start(t, {
    custom: exposed(({ response }: Context) => {
      response.status = '431 My reason';
      return json({ status: response.status, reason: response.reason });
    }),
    plain: exposed(({ response }: Context) => {
      response.status = '201';
      return 'made';
    }),
    latin: exposed(({ response }: Context) => {
      response.status = '299 Très bien';
      return 'ok';
    }),
  });
  const custom = await one(server.port, 'GET', '/custom');
  assert.equal(statusLine(custom), 'HTTP/1.1 431 My reason');
  assert.deepEqual(JSON.parse(custom.body.toString()), { status: 431, reason: 'My reason' });
  const plain = await one(server.port, 'GET', '/plain');
  assert.equal(statusLine(plain), 'HTTP/1.1 201 Created');
  const latin = await one(server.port, 'GET', '/latin');
  assert.equal(latin.status, 299);
  assert.equal(latin.reason, 'Très bien');
});

/** [route, value set, message with tracebacks on, a marker that names the value]. */
const INVALID_STATUSES: Array<[string, number | string, RegExp, string]> = [
  ['600', 600, /Invalid response status 600/, '600'],
  ['99', 99, /Invalid response status 99/, '99'],
  ['abc', 'abc', /Invalid response status &quot;abc&quot;/, 'abc'],
  ['crlf', '200 bad\r\nX: y', /Invalid response status &quot;200 bad\\r\\nX: y&quot;/, 'bad'],
  ['float', 200.5, /Invalid response status 200.5/, '200.5'],
  ['bad-text', '20x OK', /Invalid response status &quot;20x OK&quot;/, '20x'],
];

function invalidStatusRoot(): object {
  const root: Record<string, unknown> = {};
  for (const [name, value] of INVALID_STATUSES) {
    root[name.replace('-', '_')] = exposed(({ response }: Context) => {
      response.status = value;
      return 'never sent';
    });
  }
  return root;
}

test('an invalid status is a 500 naming the bad value (tracebacks on), never a split header', async (t) => {
  const server = await start(t, invalidStatusRoot(), {}, { 'log.screen': false });
  for (const [name, , message] of INVALID_STATUSES) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(statusLine(res), 'HTTP/1.1 500 Internal Server Error', name);
    const page = res.body.toString();
    assert.match(page, message, name);
    assert.ok(!page.includes('never sent'));
    assert.ok(!headerNames(res).includes('x'), `no header X from ${name}`);
    assert.ok(!res.raw.text.includes('\r\nX: y'), `no injected header line from ${name}`);
  }
});

test('an invalid status in production is a 500 that says nothing about it', async (t) => {
  const server = await start(t, invalidStatusRoot(), {}, { environment: 'production', 'log.screen': false });
  for (const [name, , , marker] of INVALID_STATUSES) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(res.status, 500, name);
    const page = res.body.toString();
    assert.ok(!/Invalid|status|DRUPE_|\.js|stack/i.test(page), `production page leaks: ${page}`);
    assert.ok(!page.includes(marker), `production page names ${marker}`);
    assert.ok(!res.raw.text.includes('\r\nX: y'));
  }
});

test('a 1xx status set as the final status is a 500 and never desynchronizes a keep-alive connection', async (t) => {
  const server = await start(t, {
    early: exposed(({ response }: Context) => { response.status = 103; return 'x'; }),
    after: exposed(() => 'after'),
  }, {}, { 'log.screen': false });
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/early', { keepAlive: true }), rawReq(server.port, 'GET', '/after')]);
  assert.deepEqual(r.responses.map((x) => x.status), [500, 200]);
});

// -- headers ---------------------------------------------------------------------

test('headers: get/set/append/delete/has are case-insensitive; names keep their first spelling on the wire', async (t) => {
  let seen: Record<string, unknown> = {};
  const server = await start(t, {
    h: exposed(({ response }: Context) => {
      const h = response.headers;
      h.set('X-Thing', 'one');
      seen = { get: h.get('x-thing'), getUpper: h.get('X-THING'), has: h.has('x-THING'), missing: h.get('x-none'), hasMissing: h.has('x-none') };
      h.append('x-thing', 'two');
      seen.afterAppend = h.get('X-Thing');
      seen.all = h.getAll('X-THING');
      h.set('X-Gone', 'soon');
      seen.deleted = h.delete('x-GONE');
      seen.deletedAgain = h.delete('X-Gone');
      seen.hasGone = h.has('X-Gone');
      h.set('content-type', 'text/plain');
      h.set('Content-Type', 'text/csv');   // replaces, whatever the case
      h.set('X-Number', 42);
      return 'a,b\n';
    }),
  });
  const res = await one(server.port, 'GET', '/h');
  assert.equal(res.status, 200);
  assert.deepEqual(seen, {
    get: 'one', getUpper: 'one', has: true, missing: undefined, hasMissing: false,
    afterAppend: 'one, two', all: ['one', 'two'], deleted: true, deletedAgain: false, hasGone: false,
  });
  const thing = res.rawHeaders.filter(([n]) => n.toLowerCase() === 'x-thing');
  assert.deepEqual(thing, [['X-Thing', 'one'], ['X-Thing', 'two']]);
  assert.equal(headerNames(res).filter((n) => n === 'content-type').length, 1);
  assert.equal(res.headers['content-type'], 'text/csv');
  assert.equal(res.headers['x-number'], '42');
  assert.ok(!headerNames(res).includes('x-gone'));
});

test('a header value with CR or LF → 500, never a split header (raw bytes)', async (t) => {
  const server = await start(t, {
    set: exposed(({ response }: Context) => { response.headers.set('X-Bad', 'a\r\nInjected: yes'); return 'no'; }),
    lf: exposed(({ response }: Context) => { response.headers.set('X-Bad', 'a\nInjected: yes'); return 'no'; }),
    cr: exposed(({ response }: Context) => { response.headers.set('X-Bad', 'a\rInjected: yes'); return 'no'; }),
    // Values up to 64 characters and longer ones are checked two ways: both refuse.
    long: exposed(({ response }: Context) => { response.headers.set('X-Bad', `${'a'.repeat(63)}\r\nInjected: yes`); return 'no'; }),
    append: exposed(({ response }: Context) => { response.headers.append('X-Bad', 'ok'); response.headers.append('X-Bad', 'b\r\n\r\n<script>'); return 'no'; }),
    user: exposed(({ params, response }: Context) => { response.headers.set('X-Echo', String(params.v)); return 'no'; }),
    hname: exposed(({ response }: Context) => { response.headers.set('X-Bad\r\nInjected', 'yes'); return 'no'; }),
    cookie: exposed(({ response }: Context) => { response.setCookie('c', 'v', { path: '/\r\nInjected: yes' }); return 'no'; }),
  }, {}, { 'log.screen': false });
  for (const target of ['/set', '/lf', '/cr', '/long', '/append', '/user?v=a%0D%0AInjected:%20yes', '/hname', '/cookie']) {
    const res = await one(server.port, 'GET', target);
    assert.equal(res.status, 500, target);
    assert.ok(!headerNames(res).includes('injected'), `${target}: split header`);
    assert.ok(!/(^|[\r\n])Injected: yes/.test(res.raw.text.slice(0, res.head.length)), `${target}: Injected in the head`);
    assert.ok(!res.raw.text.includes('<script>'), target);
    assert.ok(!headerNames(res).includes('x-echo'), target);
    assert.match(res.body.toString(), /CR, LF|not allowed|Invalid header name/, target);
  }
});

test('a header value node:http would refuse (control character, beyond Latin-1) → 500, not a dropped connection', async (t) => {
  const server = await start(t, {
    uni: exposed(({ response }: Context) => { response.headers.set('X-Name', 'Zoë ✓'); return 'no'; }),
    ctl: exposed(({ response }: Context) => { response.headers.set('X-Name', 'a\x01b'); return 'no'; }),
    del: exposed(({ response }: Context) => { response.headers.append('X-Name', 'a\x7fb'); return 'no'; }),
    latin1: exposed(({ response }: Context) => { response.headers.set('X-Name', 'Zoë\tok'); return 'fine'; }),
    // Values up to 64 characters and longer ones are checked two ways: both refuse, both let Latin-1 through.
    ctl64: exposed(({ response }: Context) => { response.headers.set('X-Name', `${'a'.repeat(63)}\x02`); return 'no'; }),
    ctl65: exposed(({ response }: Context) => { response.headers.set('X-Name', `${'a'.repeat(64)}\x1f`); return 'no'; }),
    uni65: exposed(({ response }: Context) => { response.headers.set('X-Name', `${'a'.repeat(64)}✓`); return 'no'; }),
    latin65: exposed(({ response }: Context) => { response.headers.set('X-Name', `${'a'.repeat(64)}ë`); return 'fine'; }),
  }, {}, { 'log.screen': false });
  for (const target of ['/uni', '/ctl', '/del', '/ctl64', '/ctl65', '/uni65']) {
    const res = await one(server.port, 'GET', target);
    assert.equal(res.status, 500, target);
    assert.ok(!headerNames(res).includes('x-name'), target);
    assert.match(res.body.toString(), /Header X-Name has a value with a control character or a character beyond Latin-1/, target);
  }
  const ok = await one(server.port, 'GET', '/latin1');
  assert.equal(ok.status, 200);
  assert.equal(Buffer.from(ok.headers['x-name']!, 'latin1').toString('latin1'), 'Zoë\tok');
  const long = await one(server.port, 'GET', '/latin65');
  assert.equal(long.status, 200);
  assert.equal(long.headers['x-name'], `${'a'.repeat(64)}ë`);
});

test('a header with CR/LF in production: a generic 500 page', async (t) => {
  const server = await start(t, {
    user: exposed(({ params, response }: Context) => { response.headers.set('X-Echo', String(params.v)); return 'no'; }),
  }, {}, { environment: 'production', 'log.screen': false });
  const res = await one(server.port, 'GET', '/user?v=a%0D%0AInjected:%20yes');
  assert.equal(res.status, 500);
  assert.ok(!headerNames(res).includes('injected'));
  const page = res.body.toString();
  assert.ok(!/X-Echo|CR|LF|Injected|DRUPE_|\.js/.test(page), page);
});

// -- cookies -------------------------------------------------------------------------

test('setCookie with attributes and deleteCookie become Set-Cookie lines; cookies round-trip', async (t) => {
  const server = await start(t, {
    set: exposed(({ response }: Context) => {
      response.setCookie('session', 'abc 123;x=é', { maxAge: 3600, path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
      response.setCookie('plain', 'v', { sameSite: 'Strict', domain: 'example.com', expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) });
      response.setCookie('none', 'n', { sameSite: 'None', secure: true });
      response.deleteCookie('old', { path: '/app' });
      return 'set';
    }),
    read: exposed(({ request }: Context) => json({ ...request.cookies })),
  });
  const res = await one(server.port, 'GET', '/set');
  assert.equal(res.status, 200);
  const cookies = res.rawHeaders.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v);
  assert.equal(cookies.length, 4);
  const [session, plain, none, old] = cookies as [string, string, string, string];
  assert.ok(session.startsWith('session=abc%20123%3Bx%3D%C3%A9;'), session);
  const attrs = (c: string): string[] => c.split(';').slice(1).map((a) => a.trim());
  assert.deepEqual(attrs(session).sort(), ['HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax', 'Secure']);
  assert.ok(plain.startsWith('plain=v;'));
  assert.deepEqual(attrs(plain).sort(), ['Domain=example.com', 'Expires=Wed, 02 Jan 2030 03:04:05 GMT', 'SameSite=Strict']);
  assert.deepEqual(attrs(none).sort(), ['SameSite=None', 'Secure']);
  assert.ok(old.startsWith('old=;'), old);
  assert.deepEqual(attrs(old).sort(), ['Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'Max-Age=0', 'Path=/app']);

  // What the browser sends back parses into the original values.
  const back = await one(server.port, 'GET', '/read', { Cookie: `${session.split(';')[0]}; ${plain.split(';')[0]}` });
  assert.deepEqual(JSON.parse(back.body.toString()), { session: 'abc 123;x=é', plain: 'v' });
});

// -- content type and charset ---------------------------------------------------------

test("the default Content-Type is 'text/html;charset=utf-8', strings are UTF-8", async (t) => {
  const server = await start(t, {
    page: exposed(() => '<p>héllo ✓</p>'),
    empty: exposed(() => null),
    own: exposed(({ response }: Context) => { response.headers.set('content-type', 'text/plain'); return 'x'; }),
  });
  const page = await one(server.port, 'GET', '/page');
  assert.equal(page.headers['content-type'], 'text/html;charset=utf-8');
  assert.ok(page.body.equals(Buffer.from('<p>héllo ✓</p>', 'utf8')));
  assert.equal(page.headers['content-length'], String(Buffer.byteLength('<p>héllo ✓</p>')));
  const empty = await one(server.port, 'GET', '/empty');
  assert.equal(empty.headers['content-type'], 'text/html;charset=utf-8');
  assert.equal(empty.headers['content-length'], '0');
  const own = await one(server.port, 'GET', '/own');
  assert.equal(own.headers['content-type'], 'text/plain');
  assert.equal(headerNames(own).filter((n) => n === 'content-type').length, 1);
});

test('the writer\'s own headers: one set by the handler replaces the default, one set then deleted brings it back', async (t) => {
  const server = await start(t, {
    own: exposed(({ response }: Context) => {
      response.headers.set('CONTENT-TYPE', 'text/plain');
      response.headers.set('server', 'Mine');
      response.headers.set('Connection', 'close');
      return 'x';
    }),
    deleted: exposed(({ response }: Context) => {
      for (const name of ['Content-Type', 'Server', 'Content-Length', 'Transfer-Encoding', 'Connection']) response.headers.set(name, 'x');
      for (const name of ['content-type', 'SERVER', 'Content-length', 'transfer-encoding', 'connection']) response.headers.delete(name);
      return 'x';
    }),
    // An error page drops the content headers the handler had set (and keeps the others).
    failed: exposed(({ response }: Context) => {
      response.headers.set('Content-Type', 'application/json');
      response.headers.set('Content-Length', '999');
      response.headers.set('Server', 'Mine');
      throw new Error('no');
    }),
  });
  const own = await one(server.port, 'GET', '/own');
  assert.deepEqual(own.rawHeaders.filter(([n]) => ['content-type', 'server', 'connection', 'content-length'].includes(n.toLowerCase())),
    [['CONTENT-TYPE', 'text/plain'], ['server', 'Mine'], ['Connection', 'close'], ['Content-Length', '1']]);
  const deleted = await one(server.port, 'GET', '/deleted');
  assert.deepEqual(deleted.rawHeaders.filter(([n]) => ['content-type', 'server', 'content-length', 'transfer-encoding'].includes(n.toLowerCase())),
    [['Content-Type', 'text/html;charset=utf-8'], ['Content-Length', '1'], ['Server', 'Drupe']]);
  assert.equal(deleted.body.toString(), 'x');
  const failed = await one(server.port, 'GET', '/failed');
  assert.equal(failed.status, 500);
  assert.equal(failed.headers['content-type'], 'text/html;charset=utf-8');
  assert.equal(failed.headers['content-length'], String(failed.body.length));
  assert.deepEqual(failed.rawHeaders.filter(([n]) => n.toLowerCase() === 'server'), [['Server', 'Mine']]);
});

test('strings are encoded by the response charset (iso-8859-1 → one byte 0xE9; utf-16le)', async (t) => {
  const server = await start(t, {
    latin1: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain;charset=iso-8859-1'); return 'é'; }),
    quoted: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain; charset="ISO-8859-1"'); return 'café'; }),
    utf16: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain;charset=utf-16le'); return 'hé'; }),
    gen: exposed(function* ({ response }: Context) { response.headers.set('Content-Type', 'text/plain;charset=iso-8859-1'); yield 'é'; yield 'è'; }),
    bytes: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain;charset=iso-8859-1'); return Buffer.from('é', 'utf8'); }),
    unknown: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain;charset=klingon'); return 'x'; }),
  }, {}, { 'log.screen': false });
  const latin1 = await one(server.port, 'GET', '/latin1');
  assert.deepEqual([...latin1.body], [0xe9]);
  assert.equal(latin1.headers['content-length'], '1');
  assert.equal(latin1.headers['content-type'], 'text/plain;charset=iso-8859-1');
  const quoted = await one(server.port, 'GET', '/quoted');
  assert.deepEqual([...quoted.body], [0x63, 0x61, 0x66, 0xe9]);
  const utf16 = await one(server.port, 'GET', '/utf16');
  assert.deepEqual([...utf16.body], [0x68, 0x00, 0xe9, 0x00]);
  assert.equal(utf16.headers['content-length'], '4');
  const gen = await one(server.port, 'GET', '/gen');
  assert.deepEqual([...gen.body], [0xe9, 0xe8]);
  assert.equal(gen.headers['content-length'], '2');
  const bytes = await one(server.port, 'GET', '/bytes'); // bytes are sent as they are
  assert.deepEqual([...bytes.body], [0xc3, 0xa9]);
  const unknown = await one(server.port, 'GET', '/unknown');
  assert.equal(unknown.status, 500);
  assert.match(unknown.body.toString(), /charset &#39;klingon&#39;/);
});

// -- bodiless statuses ----------------------------------------------------------------

for (const code of [204, 304] as const) {
  test(`${code} carries no body and no Content-Length, and the connection is reused`, async (t) => {
    const server = await start(t, {
      bodiless: exposed(({ response }: Context) => {
        response.status = code;
        response.headers.set('Content-Length', '12'); // the handler's length is dropped too
        return 'ignored body';
      }),
      after: exposed(() => 'after'),
    });
    const r = await rawRequest(server.port, [
      rawReq(server.port, 'GET', '/bodiless', { keepAlive: true }),
      rawReq(server.port, 'GET', '/after'),
    ]);
    assert.equal(r.responses.length, 2, r.text);
    const [first, second] = r.responses as [ParsedResponse, ParsedResponse];
    assert.equal(first.status, code);
    assert.ok(!headerNames(first).includes('content-length'), first.head);
    assert.ok(!headerNames(first).includes('transfer-encoding'), first.head);
    assert.equal(first.body.length, 0);
    // The second response starts right where the first head ended: no body bytes in between.
    assert.ok(r.text.startsWith('HTTP/1.1 200 OK', first.head.length), r.text);
    assert.ok(!r.text.includes('ignored body'));
    assert.equal(second.status, 200);
    assert.equal(second.body.toString(), 'after');
  });
}

test('a 304 from a generator is bodiless too, and its generator still ran', async (t) => {
  let finished = false;
  const server = await start(t, {
    g: exposed(function* ({ response }: Context) {
      try {
        response.status = 304;
        yield 'x';
      } finally {
        finished = true;
      }
    }),
    after: exposed(() => 'after'),
  });
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/g', { keepAlive: true }), rawReq(server.port, 'GET', '/after')]);
  assert.deepEqual(r.responses.map((x) => x.status), [304, 200]);
  assert.ok(!headerNames(r.responses[0]!).includes('content-length'));
  assert.ok(r.text.startsWith('HTTP/1.1 200 OK', r.responses[0]!.head.length));
  assert.equal(finished, true);
});

// -- HEAD -----------------------------------------------------------------------------------

test('HEAD runs the handler and sends the GET length with no body (raw bytes, same connection)', async (t) => {
  const methods: string[] = [];
  const server = await start(t, {
    page: exposed(({ request, response }: Context) => {
      methods.push(request.method);
      response.headers.set('X-Seen', request.method);
      return 'héllo world';
    }),
  });
  const r = await rawRequest(server.port, [
    rawReq(server.port, 'HEAD', '/page', { keepAlive: true }),
    rawReq(server.port, 'GET', '/page'),
  ]);
  assert.equal(r.responses.length, 2, r.text);
  const [head, getRes] = r.responses as [ParsedResponse, ParsedResponse];
  assert.deepEqual(methods, ['HEAD', 'GET']);
  assert.equal(head.status, 200);
  assert.equal(head.headers['x-seen'], 'HEAD');
  assert.equal(head.headers['content-length'], String(Buffer.byteLength('héllo world')));
  assert.equal(head.headers['content-length'], getRes.headers['content-length']);
  assert.equal(head.headers['content-type'], getRes.headers['content-type']);
  assert.ok(!headerNames(head).includes('transfer-encoding'));
  assert.ok(r.text.startsWith('HTTP/1.1 200 OK', head.head.length), 'no body bytes after the HEAD response');
  assert.equal(getRes.body.toString(), 'héllo world');
});

test('HEAD on an error keeps the error status and length, still no body', async (t) => {
  const server = await start(t, {});
  const r = await rawRequest(server.port, [
    rawReq(server.port, 'HEAD', '/missing', { keepAlive: true }),
    rawReq(server.port, 'GET', '/missing'),
  ]);
  assert.equal(r.responses.length, 2, r.text);
  const [head, getRes] = r.responses as [ParsedResponse, ParsedResponse];
  assert.equal(head.status, 404);
  assert.equal(getRes.status, 404);
  assert.ok(r.text.startsWith('HTTP/1.1 404', head.head.length));
  assert.equal(Number(getRes.headers['content-length']), getRes.body.length);
  assert.ok(Number(head.headers['content-length']) > 0);
});
