// HTTPRedirect (docs/contract.md, "Exceptions"; issue 2 part 8) and the redirect items of HOSTILE 9 and 16, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrupeError, HTTPRedirect, exposed, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { get, startApp } from './helpers/server.js';

/** One request on its own connection, as raw bytes; returns the single response. */
async function raw(port: number, head: string): Promise<ParsedResponse & { text: string }> {
  const result = await rawRequest(port, head);
  assert.equal(result.responses.length, 1, `exactly one response: ${result.text}`);
  return Object.assign(result.responses[0]!, { text: result.text });
}

function req(target: string, host: string | null = 'good.example', version = '1.1'): string {
  return `GET ${target} HTTP/${version}\r\n${host === null ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`;
}

/** A root whose `go` handler redirects to `?to=` (with `?status=`), at any depth. */
function redirector(): (ctx: Context) => never {
  return ({ params }: Context) => {
    const status = params.status === undefined ? undefined : Number(params.status);
    const to = params.to;
    throw new HTTPRedirect(Array.isArray(to) ? to.map(String) : String(to), status);
  };
}

/** A handler that redirects to a fixed URL (for URLs a query string cannot carry as is). */
const to = (url: string | string[], status?: number) => exposed(() => { throw new HTTPRedirect(url, status); });

// ---------------------------------------------------------------------------
// Location

test('the Location is absolute, built from the request Host header and scheme', async (t) => {
  const server = await startApp({ login: exposed(() => 'login page'), go: to('/login') });
  t.after(() => server.close());

  const viaFetch = await get(server.url + '/go');
  assert.equal(viaFetch.status, 303);
  assert.equal(viaFetch.headers.get('location'), `${server.url}/login`);

  const r = await raw(server.port, req('/go', 'www.example.test:8080'));
  assert.equal(r.status, 303);
  assert.equal(r.headers.location, 'http://www.example.test:8080/login');
  assert.match(r.headers['content-type'] ?? '', /^text\/html/);
  assert.ok(r.body.toString().includes('http://www.example.test:8080/login'), 'the body links to the new URL');
  assert.equal(Number(r.headers['content-length']), r.body.length);
});

test('a missing or malformed Host falls back to the server address, never to the request target', async (t) => {
  const server = await startApp({ go: to('/login') });
  t.after(() => server.close());
  const own = `http://127.0.0.1:${server.port}/login`;
  // A Host outside the authority grammar is refused outright (HOSTILE 34) …
  const bad = await raw(server.port, req('/go', 'evil.example/x@y'));
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.location, undefined);
  // … and one within it that is no plain host name falls back.
  const odd = await raw(server.port, req('/go', 'evil.example;x'));
  assert.equal(odd.headers.location, own);
  const none = await raw(server.port, req('/go', null, '1.0'));
  assert.equal(none.headers.location, own);
  const absoluteNoHost = await raw(server.port, req('http://evil.example/go', null, '1.0'));
  assert.equal(absoluteNoHost.headers.location, own);
});

test('a relative URL resolves against the current path; the query string is kept', async (t) => {
  const server = await startApp({
    a: {
      b: {
        other: to('other'),
        up: to('../x'),
        dot: to('./'),
        query: to('?q=1&r=2'),
        rooted: to('/top'),
        full: to('https://elsewhere.example/p?x=1'),
      },
    },
  });
  t.after(() => server.close());
  const cases: Array<[string, string]> = [
    ['/a/b/other', 'http://good.example/a/b/other'],
    ['/a/b/up', 'http://good.example/a/x'],
    ['/a/b/dot', 'http://good.example/a/b/'],
    ['/a/b/query', 'http://good.example/a/b/query?q=1&r=2'],
    ['/a/b/rooted', 'http://good.example/top'],
    ['/a/b/full', 'https://elsewhere.example/p?x=1'],
  ];
  for (const [path, location] of cases) {
    const r = await raw(server.port, req(path));
    assert.equal(r.status, 303, path);
    assert.equal(r.headers.location, location, path);
  }
});

test('several URLs: Location is the first, the body lists them all', async (t) => {
  const server = await startApp({ go: to(['/one', '/two']) });
  t.after(() => server.close());
  const r = await raw(server.port, req('/go'));
  assert.equal(r.headers.location, 'http://good.example/one');
  const body = r.body.toString();
  assert.ok(body.includes('http://good.example/one') && body.includes('http://good.example/two'), body);
});

// ---------------------------------------------------------------------------
// Status

test('default status: 303 on HTTP/1.1, 302 on HTTP/1.0 (raw bytes)', async (t) => {
  const server = await startApp({ go: to('/there') });
  t.after(() => server.close());
  const r11 = await raw(server.port, req('/go'));
  assert.match(r11.text, /^HTTP\/1\.1 303 See Other\r\n/);
  assert.equal(r11.headers.location, 'http://good.example/there');
  const r10 = await raw(server.port, req('/go', 'good.example', '1.0'));
  assert.match(r10.text, /^HTTP\/1\.[01] 302 Found\r\n/);
  assert.equal(r10.headers.location, 'http://good.example/there');
});

test('an explicit status 300-308 is used as given', async (t) => {
  const server = await startApp({ go: exposed(redirector()) });
  t.after(() => server.close());
  for (const status of [300, 301, 302, 303, 307, 308]) {
    for (const version of ['1.1', '1.0']) {
      const r = await raw(server.port, req(`/go?to=/new&status=${status}`, 'good.example', version));
      assert.equal(r.status, status, `${status} on HTTP/${version}`);
      assert.equal(r.headers.location, 'http://good.example/new');
    }
  }
});

test('HEAD on a redirect: the same status and Location, no body', async (t) => {
  const server = await startApp({ go: to('/new', 301) });
  t.after(() => server.close());
  const result = await rawRequest(server.port, 'HEAD /go HTTP/1.1\r\nHost: good.example\r\nConnection: close\r\n\r\n');
  const r = result.responses[0]!;
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'http://good.example/new');
  assert.equal(r.body.length, 0);
  assert.ok(result.text.endsWith('\r\n\r\n'), 'nothing after the head');
});

test('invalid redirect statuses (299, 309, …) are rejected by the constructor, and answered with a 500', async (t) => {
  for (const bad of [299, 309, 200, 404, 301.5, Number.NaN]) {
    assert.throws(() => new HTTPRedirect('/x', bad), (err: unknown) => {
      assert.ok(err instanceof DrupeError);
      assert.equal(err.code, 'DRUPE_ERR_REDIRECT_STATUS');
      return true;
    }, String(bad));
  }
  assert.throws(() => new HTTPRedirect([]), (err: unknown) => err instanceof DrupeError && err.code === 'DRUPE_ERR_REDIRECT_URL');

  const server = await startApp({ go: exposed(redirector()) }, {}, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  for (const status of [299, 309]) {
    const r = await raw(server.port, req(`/go?to=/x&status=${status}`));
    assert.equal(r.status, 500, String(status));
    assert.equal(r.headers.location, undefined);
  }
});

// ---------------------------------------------------------------------------
// HOSTILE 16: redirects to other hosts through tricks, and javascript:

test('HOSTILE 16: //host, /\\host and friends never produce a scheme-relative Location or leave the site', async (t) => {
  const server = await startApp({ go: exposed(redirector()) });
  t.after(() => server.close());
  const sneaky = [
    '//evil.example/x',
    '/\\evil.example',
    '\\\\evil.example\\x',
    '\\/evil.example',
    '///evil.example',
    '  //evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '\t\r\n//evil.example',
    '\x01//evil.example',
    '/\\\t/evil.example',
  ];
  for (const url of sneaky) {
    const r = await raw(server.port, req(`/go?to=${encodeURIComponent(url)}`));
    assert.equal(r.status, 303, JSON.stringify(url));
    const loc = r.headers.location ?? '';
    assert.ok(!loc.startsWith('//'), `${JSON.stringify(url)}: scheme-relative ${loc}`);
    assert.ok(!loc.includes('\\'), `${JSON.stringify(url)}: backslash in ${loc}`);
    assert.equal(new URL(loc).host, 'good.example', `${JSON.stringify(url)} left the site: ${loc}`);
  }
});

test('HOSTILE 16: http://a\\@b gives an absolute Location parsed the way browsers parse it', async (t) => {
  const server = await startApp({ go: exposed(redirector()) });
  t.after(() => server.close());
  const r = await raw(server.port, req(`/go?to=${encodeURIComponent('http://a\\@b')}`));
  assert.equal(r.status, 303);
  const loc = r.headers.location ?? '';
  assert.match(loc, /^https?:\/\//);
  assert.ok(!loc.includes('\\'), loc);
  // What the header says is what a browser would follow: no user-info trick left in it.
  assert.equal(loc, new URL('http://a\\@b').href);
  assert.equal(new URL(loc).username, '');
});

test('HOSTILE 16: javascript:, data: and other non-http schemes are refused with a 500, no Location', async (t) => {
  const server = await startApp({ go: exposed(redirector()), ok: exposed(() => 'ok') }, {}, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', '\x00javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', 'file:///etc/passwd']) {
    const r = await raw(server.port, req(`/go?to=${encodeURIComponent(url)}`));
    assert.equal(r.status, 500, JSON.stringify(url));
    assert.equal(r.headers.location, undefined, JSON.stringify(url));
    assert.ok(!r.body.toString().toLowerCase().includes('script:'), r.body.toString());
  }
  assert.equal((await get(server.url + '/ok')).status, 200);
});

test('HOSTILE 16: the redirect body is HTML-escaped', async (t) => {
  const server = await startApp({ go: exposed(redirector()) });
  t.after(() => server.close());
  for (const url of ['/x?a=1&b="><script>alert(1)</script>', "/x?q='onmouseover='alert(1)", '/x#"><img src=x onerror=alert(1)>']) {
    const r = await raw(server.port, req(`/go?to=${encodeURIComponent(url)}`));
    assert.equal(r.status, 303);
    const body = r.body.toString();
    assert.ok(!/<script|<img/i.test(body), body);
    assert.ok(!/&(?!amp;|lt;|gt;|quot;|#39;)/.test(body), `unescaped & in ${body}`);
    // Attribute values cannot be broken out of.
    for (const m of body.matchAll(/href="([^"]*)"/g)) assert.ok(!/['<>]/.test(m[1]!), m[1]);
  }
});

test('CR/LF in a redirect URL never produces an extra header line (raw bytes)', async (t) => {
  const server = await startApp({ go: exposed(redirector()) });
  t.after(() => server.close());
  for (const url of ['/x\r\nSet-Cookie: evil=1', '/x\r\n\r\n<html>injected', '/x\nX-Injected: 1', '/x\rX-Injected: 1', '/x%0d%0aSet-Cookie:%20evil=1',
    'http://good.example/\r\nSet-Cookie: evil=1', '/x\u010d\u010aSet-Cookie: evil=1']) {
    const result = await rawRequest(server.port, req(`/go?to=${encodeURIComponent(url)}`));
    assert.equal(result.responses.length, 1, JSON.stringify(url));
    const r = result.responses[0]!;
    assert.ok(r.status === 303 || r.status === 500, `${JSON.stringify(url)}: ${r.status}`);
    const names = r.rawHeaders.map(([n]) => n.toLowerCase()).sort();
    assert.ok(!names.includes('set-cookie') && !names.includes('x-injected'), `${JSON.stringify(url)}: ${r.head}`);
    // Every header line is a well-formed "Name: value".
    const lines = r.head.split('\r\n').slice(1, -2);
    for (const line of lines) assert.match(line, /^[A-Za-z0-9-]+: [^\r\n]*$/, JSON.stringify(line));
    assert.equal(r.head.indexOf('\r\n\r\n'), r.head.length - 4, 'one blank line, at the end of the head');
    assert.ok(!/^<html>injected/m.test(result.text));
    if (r.headers.location !== undefined) assert.equal(new URL(r.headers.location).host, 'good.example');
  }
});

// ---------------------------------------------------------------------------
// HOSTILE 9: absolute-form targets and '//host' paths

function siteTree(): object {
  return {
    index: exposed(() => 'home'),
    x: { index: exposed(() => 'x index') },
    page: exposed(() => 'page'),
    evil_example: { index: exposed(() => 'evil index'), x: { index: exposed(() => 'evil x index') } },
    other_example: exposed(() => 'other page'),
    r: { go: to('next'), next: exposed(() => 'next') },
  };
}

test('HOSTILE 9: an absolute-form target dispatches on its path; the trailing-slash redirect stays on the Host header', async (t) => {
  const server = await startApp(siteTree(), { '/': { 'tools.trailing_slash.extra': true } });
  t.after(() => server.close());
  const cases: Array<[string, number, string | undefined]> = [
    ['http://evil.example/x', 301, 'http://good.example/x/'],
    ['http://evil.example/x?a=1&b=2', 301, 'http://good.example/x/?a=1&b=2'],
    ['http://evil.example/page/', 301, 'http://good.example/page'],
    ['https://evil.example:8443/x', 301, 'http://good.example/x/'],
    ['http://evil.example/r/go', 303, 'http://good.example/r/next'],
    ['http://evil.example', 200, undefined],
    ['http://evil.example/x/', 200, undefined],
  ];
  for (const [target, status, location] of cases) {
    const r = await raw(server.port, req(target));
    assert.equal(r.status, status, target);
    assert.equal(r.headers.location, location, target);
  }
  const home = await raw(server.port, req('http://evil.example/'));
  assert.equal(home.body.toString(), 'home', 'the path, not the authority, was dispatched');
});

test('HOSTILE 9: a //evil.example path never becomes a redirect to that host', async (t) => {
  const server = await startApp(siteTree());
  t.after(() => server.close());
  for (const target of ['//evil.example', '//evil.example/x', '//evil.example/x?a=1', '///evil.example/x', '//other.example/', '//other.example//', '/\\evil.example/x']) {
    const r = await raw(server.port, req(target));
    assert.ok(r.status < 500, `${target}: ${r.status}`);
    if (r.status >= 300 && r.status < 400) {
      const loc = r.headers.location ?? '';
      assert.ok(!loc.startsWith('//'), `${target}: ${loc}`);
      assert.equal(new URL(loc).host, 'good.example', `${target}: ${loc}`);
    }
  }
  // The trailing-slash redirect itself still happens, on this site.
  const r = await raw(server.port, req('//evil.example/x'));
  assert.equal(r.status, 301);
  assert.equal(new URL(r.headers.location!).pathname.replace(/^\/+/, '/'), '/evil.example/x/');
});

test('HTTPRedirect from a buffered generator, a hook, or a streamed body before its first chunk', async (t) => {
  const server = await startApp({
    gen: exposed(function* () { yield 'not sent'; throw new HTTPRedirect('/from-gen'); }),
    stream: exposed(async function* () { await Promise.resolve(); throw new HTTPRedirect('/from-stream', 307); }, { 'response.stream': true }),
    hooked: exposed(() => 'not reached'),
  }, { '/hooked': { 'hooks.before_handler': () => { throw new HTTPRedirect('from-hook'); } } });
  t.after(() => server.close());
  const cases: Array<[string, number, string]> = [
    ['/gen', 303, 'http://good.example/from-gen'],
    ['/stream', 307, 'http://good.example/from-stream'],
    ['/hooked', 303, 'http://good.example/from-hook'],
  ];
  for (const [path, status, location] of cases) {
    const r = await raw(server.port, req(path));
    assert.equal(r.status, status, path);
    assert.equal(r.headers.location, location, path);
    assert.ok(!r.body.toString().includes('not '), path);
  }
});

test('a redirect URL that cannot be parsed is a 500, not a crash', async (t) => {
  const server = await startApp({ go: exposed(redirector()), ok: exposed(() => 'ok') }, {}, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  for (const url of ['http://[::1', 'http://exa mple.com/', 'https://']) {
    const r = await raw(server.port, req(`/go?to=${encodeURIComponent(url)}`));
    assert.equal(r.status, 500, url);
    assert.equal(r.headers.location, undefined, url);
  }
  assert.equal((await raw(server.port, req('/ok'))).status, 200);
});
