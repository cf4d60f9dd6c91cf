// tools.staticdir and tools.staticfile (issue 4 part 4; HOSTILE 18 and 19):
// files under a section with no handler, the section path stripped, index
// and its trailing-slash redirect, HEAD, content-type overrides, dotfiles,
// symlinks — and every way of leaving the directory refused without a byte
// from outside, encoded slashes never slipping past a guard on a subtree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, HTTPError, exposed, type Config } from '../src/index.js';
import type { ParsedResponse } from '../src/testing.js';
import { NOBODY, serveAsNobody } from './helpers/as-nobody.js';
import { assertLength, tempDir } from './helpers/files.js';
import { head, one, raw } from './helpers/http.js';
import { start } from './helpers/server.js';

const SECRET = 'TOP-SECRET-b7f3c1';
const ADMIN_SECRET = 'ADMIN-ONLY-93e0aa';

/**
 * <tmp>/secret.txt            outside the served directory
 * <tmp>/public/…              the served directory
 */
function layout(t: { after(fn: () => unknown): void }): { base: string; pub: string } {
  const base = tempDir(t, 'drupe-static-');
  writeFileSync(join(base, 'secret.txt'), SECRET);
  const pub = join(base, 'public');
  mkdirSync(pub);
  writeFileSync(join(pub, 'a.css'), 'a { color: red }');
  writeFileSync(join(pub, 'a..b.txt'), 'dots in the name');
  writeFileSync(join(pub, 'page.html'), '<p>page</p>');
  writeFileSync(join(pub, 'notes.txt'), 'plain notes');
  writeFileSync(join(pub, 'weird name é.txt'), 'encoded name');
  writeFileSync(join(pub, '.env'), `DB_PASSWORD=${SECRET}`);
  mkdirSync(join(pub, '.git'));
  writeFileSync(join(pub, '.git', 'config'), SECRET);
  mkdirSync(join(pub, 'docs'));
  writeFileSync(join(pub, 'docs', 'index.html'), '<h1>docs index</h1>');
  writeFileSync(join(pub, 'docs', 'guide.txt'), 'the guide');
  mkdirSync(join(pub, 'noindex'));
  writeFileSync(join(pub, 'noindex', 'x.txt'), 'x');
  mkdirSync(join(pub, 'admin'));
  writeFileSync(join(pub, 'admin', 'secret.txt'), ADMIN_SECRET);
  symlinkSync(join(base, 'secret.txt'), join(pub, 'link-out.txt'));
  symlinkSync(base, join(pub, 'dir-out'));
  symlinkSync(join(pub, 'a.css'), join(pub, 'link-in.css'));
  symlinkSync('docs', join(pub, 'docs-link'));
  return { base, pub };
}

function staticSection(base: string, extra: Config = {}): Config {
  return { 'tools.staticdir.on': true, 'tools.staticdir.root': base, 'tools.staticdir.dir': 'public', 'tools.staticdir.index': 'index.html', ...extra };
}

/** The guard on the admin subtree: nothing below /static/admin without it. */
const guard: Config = {
  'hooks.on_start_resource': () => { throw new HTTPError(401, 'guarded'); },
};

async function app(t: { after(fn: () => unknown): void }, root: object = {}, more: Record<string, Config> = {}): Promise<{ port: number; base: string; pub: string }> {
  const { base, pub } = layout(t);
  const server = await start(t, root, {
    '/static': staticSection(base),
    '/static/admin': guard,
    ...more,
  });
  return { port: server.port, base, pub };
}

function assertNoSecret(res: ParsedResponse | undefined, raw: string, what: string): void {
  assert.ok(!raw.includes(SECRET), `${what}: the secret leaked\n${raw.slice(0, 500)}`);
  assert.ok(!raw.includes(ADMIN_SECRET), `${what}: the admin secret leaked\n${raw.slice(0, 500)}`);
  if (res !== undefined) assert.notEqual(res.status, 200, `${what}: served (${res.status})`);
}

test('serves files under the section, with no handler anywhere in the tree', async (t) => {
  const { port } = await app(t);
  const css = await one(port, 'GET', '/static/a.css');
  assert.equal(css.status, 200);
  assertLength(css, 'a.css');
  assert.equal(css.body.toString(), 'a { color: red }');
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.ok(css.headers['etag']);
  assert.ok(css.headers['last-modified']);
  assert.equal((await one(port, 'GET', '/static/docs/guide.txt')).body.toString(), 'the guide');
  assert.equal((await one(port, 'GET', '/static/weird%20name%20%C3%A9.txt')).body.toString(), 'encoded name');
  assert.equal((await one(port, 'GET', '/static/a.css?v=3')).status, 200, 'a query string is fine');
  assert.equal((await one(port, 'GET', '/static/missing.css')).status, 404);
  assert.equal((await one(port, 'GET', '/elsewhere/a.css')).status, 404, 'only under its section');
  assert.equal((await one(port, 'GET', '/a.css')).status, 404);
});

test('a file literally named a..b.txt still serves (HOSTILE 18)', async (t) => {
  const { port } = await app(t);
  const r = await one(port, 'GET', '/static/a..b.txt');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'dots in the name');
  assert.equal((await one(port, 'GET', '/static/a%2E%2Eb.txt')).body.toString(), 'dots in the name');
});

test('HEAD: the headers of the GET, no body', async (t) => {
  const { port } = await app(t);
  const get = await one(port, 'GET', '/static/page.html');
  const r = await raw(port, head('HEAD', '/static/page.html', {}, true) + head('GET', '/static/a.css'));
  assert.equal(r.responses.length, 2);
  const h = r.responses[0]!;
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  for (const name of ['content-length', 'content-type', 'etag', 'last-modified', 'accept-ranges']) assert.equal(h.headers[name], get.headers[name], name);
  assert.equal(r.responses[1]!.body.toString(), 'a { color: red }');
});

test('conditional requests and ranges work through the tool', async (t) => {
  const { port } = await app(t);
  const etag = (await one(port, 'GET', '/static/notes.txt')).headers['etag']!;
  assert.equal((await one(port, 'GET', '/static/notes.txt', { 'If-None-Match': etag })).status, 304);
  const part = await one(port, 'GET', '/static/notes.txt', { Range: 'bytes=0-4' });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'plain');
});

test('directory index, with the trailing-slash redirect; no index, no listing', async (t) => {
  const { port } = await app(t);
  const idx = await one(port, 'GET', '/static/docs/');
  assert.equal(idx.status, 200);
  assert.equal(idx.body.toString(), '<h1>docs index</h1>');
  assert.equal(idx.headers['content-type'], 'text/html; charset=utf-8');
  const redirect = await one(port, 'GET', '/static/docs?x=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], `http://127.0.0.1:${port}/static/docs/?x=1`);
  assert.equal((await one(port, 'GET', '/static/noindex/')).status, 404, 'a directory without the index file');
  assert.equal((await one(port, 'GET', '/static/noindex')).status, 404, 'no redirect to a directory that has nothing to show');
  assert.equal((await one(port, 'GET', '/static/a.css/')).status, 404, 'a file is not a directory');
  const rootIdx = await one(port, 'GET', '/static');
  assert.equal(rootIdx.status, 404, 'the served directory itself has no index.html');
  assert.equal((await one(port, 'GET', '/static/docs-link/')).body.toString(), '<h1>docs index</h1>', 'a symlink to a directory inside');
});

test('index off (the default): directories are 404', async (t) => {
  const { base } = layout(t);
  const server = await start(t, {}, { '/files': { 'tools.staticdir.on': true, 'tools.staticdir.dir': join(base, 'public') } });
  assert.equal((await one(server.port, 'GET', '/files/docs/')).status, 404);
  assert.equal((await one(server.port, 'GET', '/files/docs')).status, 404);
  assert.equal((await one(server.port, 'GET', '/files/a.css')).status, 200, 'an absolute dir ignores root');
});

test('the traversal list: never a byte from outside the directory (HOSTILE 18)', async (t) => {
  const { port, base } = await app(t);
  const attempts = [
    '/static/../secret.txt',
    '/static/../../secret.txt',
    '/static/docs/../../secret.txt',
    '/static/..%2fsecret.txt',
    '/static/..%2Fsecret.txt',
    '/static/%2e%2e/secret.txt',
    '/static/%2E%2E/secret.txt',
    '/static/.%2e/secret.txt',
    '/static/%2e%2e%2fsecret.txt',
    '/static/%2e%2e%5csecret.txt',
    '/static/..%5csecret.txt',
    '/static/..%5Csecret.txt',
    '/static/..\\secret.txt',
    '/static/docs/..%2f..%2fsecret.txt',
    '/static/%252e%252e/secret.txt',
    '/static/secret.txt%00.css',
    '/static/a.css%00',
    '/static/%00',
    '/static/%2fetc%2fpasswd',
    '/static//etc/passwd',
    '/static/%2F' + encodeURIComponent(join(base, 'secret.txt')).replace(/^%2F/, ''),
    '/static/' + encodeURIComponent(join(base, 'secret.txt')),
    '/static' + join(base, 'secret.txt'),
    '/static/link-out.txt',
    '/static/dir-out/secret.txt',
    '/static/dir-out/',
    '/static/dir-out/public/%2e%2e/secret.txt',
    '/static/.',
    '/static/./a.css',
    '/static/%2e/a.css',
    '/static/.env',
    '/static/%2eenv',
    '/static/.git/config',
    '/static/docs/%2e%2e/%2e%2e/secret.txt',
    '/static/..',
    '/static/%c0%ae%c0%ae/secret.txt',
    'http://127.0.0.1/static/../secret.txt',
    'http://127.0.0.1/static/%2e%2e/secret.txt',
  ];
  for (const target of attempts) {
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(port, head(method, target));
      const res = r.responses[0];
      assertNoSecret(res, r.text, `${method} ${target}`);
      if (res !== undefined) assert.ok([301, 400, 403, 404].includes(res.status), `${method} ${target}: ${res.status}`);
      if (res?.status === 301) {
        // Only the directory redirect, and it stays on this site under /static.
        assert.match(res.headers['location'] ?? '', /^http:\/\/127\.0\.0\.1\/static\//, target);
      }
    }
  }
  // The legitimate file next to them still serves, by any route that really ends inside.
  assert.equal((await one(port, 'GET', '/static/a.css')).status, 200);
  assert.equal((await one(port, 'GET', '/static/dir-out/public/a.css')).status, 200, 'a link out and back in resolves inside');
});

test('the refusals are 403 for traversal syntax and 404 for hidden or outside files', async (t) => {
  const { port } = await app(t);
  assert.equal((await one(port, 'GET', '/static/%2e%2e/secret.txt')).status, 403);
  assert.equal((await one(port, 'GET', '/static/..%2fsecret.txt')).status, 403);
  assert.equal((await one(port, 'GET', '/static/..%5csecret.txt')).status, 403);
  assert.equal((await one(port, 'GET', '/static/a.css%00')).status, 403);
  assert.equal((await one(port, 'GET', '/static/link-out.txt')).status, 404);
  assert.equal((await one(port, 'GET', '/static/.env')).status, 404);
});

test('encoded slashes and empty segments never slip past a guard on a subtree (HOSTILE 19)', async (t) => {
  const { port } = await app(t);
  assert.equal((await one(port, 'GET', '/static/admin/secret.txt')).status, 401, 'the guard works');
  const attempts = [
    '/static/admin%2Fsecret.txt',
    '/static/admin%2fsecret.txt',
    '/static/admin%5Csecret.txt',
    '/static/admin\\secret.txt',
    '//static/admin/secret.txt',
    '/static//admin/secret.txt',
    '/static/admin//secret.txt',
    '//static//admin//secret.txt',
    '/static/./admin/secret.txt',
    '/static/%2e/admin/secret.txt',
    '/static/docs/../admin/secret.txt',
    '/static/docs/%2e%2e/admin/secret.txt',
    '/static/docs%2f..%2fadmin/secret.txt',
    '/st%61tic/admin/secret.txt',
    '/static/%61dmin/secret.txt',
    '/static%2Fadmin/secret.txt',
    'http://127.0.0.1//static/admin/secret.txt',
  ];
  for (const target of attempts) {
    const r = await raw(port, head('GET', target));
    assertNoSecret(r.responses[0], r.text, target);
  }
  // Those that reach the admin subtree by another spelling meet its guard.
  for (const target of ['//static/admin/secret.txt', '/static//admin/secret.txt', '/st%61tic/admin/secret.txt', '/static/%61dmin/secret.txt']) {
    assert.equal((await one(port, 'GET', target)).status, 401, target);
  }
});

test('a default handler higher up does not stop the tool, and gets what the tool does not serve', async (t) => {
  const root = { default: exposed(({ args }) => `default: ${args.join('/')}`) };
  const { port } = await app(t, root);
  assert.equal((await one(port, 'GET', '/static/a.css')).body.toString(), 'a { color: red }');
  assert.equal((await one(port, 'GET', '/static/nothing.txt')).body.toString(), 'default: static/nothing.txt', 'a missing file falls through');
  assert.equal((await one(port, 'POST', '/static/a.css', { 'Content-Length': '0' })).body.toString(), 'default: static/a.css', 'only GET and HEAD');
  const refused = await one(port, 'GET', '/static/%2e%2e/secret.txt');
  assert.equal(refused.status, 403, 'a traversal attempt never reaches the handler either');
});

test('without a handler, methods other than GET/HEAD are 404', async (t) => {
  const { port } = await app(t);
  assert.equal((await one(port, 'POST', '/static/a.css', { 'Content-Length': '0' })).status, 404);
  assert.equal((await one(port, 'DELETE', '/static/a.css')).status, 404);
});

test('dotfiles and follow_symlinks can be allowed', async (t) => {
  const { base } = layout(t);
  const server = await start(t, {}, {
    '/dots': staticSection(base, { 'tools.staticdir.dotfiles': true }),
    '/links': staticSection(base, { 'tools.staticdir.follow_symlinks': true }),
    '/plain': staticSection(base),
  });
  assert.equal((await one(server.port, 'GET', '/dots/.env')).status, 200);
  assert.equal((await one(server.port, 'GET', '/dots/.git/config')).status, 200);
  assert.equal((await one(server.port, 'GET', '/dots/link-out.txt')).status, 404, 'dotfiles do not allow leaving the directory');
  assert.equal((await one(server.port, 'GET', '/dots/%2e%2e/secret.txt')).status, 403, 'nor does it allow ..');
  assert.equal((await one(server.port, 'GET', '/links/link-out.txt')).body.toString(), SECRET, 'allowed on purpose');
  assert.equal((await one(server.port, 'GET', '/links/%2e%2e/secret.txt')).status, 403, 'symlinks allowed, .. still refused');
  assert.equal((await one(server.port, 'GET', '/plain/link-in.css')).body.toString(), 'a { color: red }', 'a symlink that stays inside');
  assert.equal((await one(server.port, 'GET', '/plain/link-in.css')).headers['content-type'], 'text/css; charset=utf-8');
});

/**
 * A directory nobody may list but may search (mode 711) still serves its
 * index; a file nobody may read is a 403 with nothing of it sent. As root,
 * permissions do not apply in this process, so a child serves as nobody.
 */
test('permissions: a search-only directory serves its index, an unreadable file is a 403', async (t) => {
  const base = tempDir(t, 'drupe-static-perm-');
  chmodSync(base, 0o755);
  const pub = join(base, 'public');
  mkdirSync(join(pub, 'xonly'), { recursive: true });
  writeFileSync(join(pub, 'xonly', 'index.html'), '<p>searchable</p>');
  writeFileSync(join(pub, 'locked.txt'), SECRET);
  chmodSync(pub, 0o755);
  chmodSync(join(pub, 'xonly'), 0o711);
  chmodSync(join(pub, 'locked.txt'), 0o000);
  let port: number;
  if (process.getuid?.() === 0) {
    const server = await serveAsNobody(t, base, `app = new drupe.App({}, { '/static': ${JSON.stringify(staticSection(base))} });`);
    if (server === null) return;
    assert.equal(server.uid, NOBODY, 'the server runs as nobody');
    port = server.port;
  } else {
    port = (await start(t, {}, { '/static': staticSection(base) })).port;
  }
  const idx = await one(port, 'GET', '/static/xonly/');
  assert.equal(idx.status, 200);
  assert.equal(idx.body.toString(), '<p>searchable</p>');
  const redirect = await one(port, 'GET', '/static/xonly');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], `http://127.0.0.1:${port}/static/xonly/`);
  assert.equal((await one(port, 'GET', '/static/xonly/missing.txt')).status, 404);
  const locked = await one(port, 'GET', '/static/locked.txt');
  assert.equal(locked.status, 403);
  assertLength(locked, '403 page');
  assertNoSecret(locked, locked.body.toString(), 'an unreadable file');
});

test('match and content_types', async (t) => {
  const { base } = layout(t);
  const server = await start(t, {}, {
    '/css': staticSection(base, { 'tools.staticdir.match': '\\.css$' }),
    '/typed': staticSection(base, { 'tools.staticdir.content_types': { txt: 'text/x-notes', '.html': 'application/xhtml+xml' } }),
  });
  assert.equal((await one(server.port, 'GET', '/css/a.css')).status, 200);
  assert.equal((await one(server.port, 'GET', '/css/notes.txt')).status, 404, 'not matched: not served');
  const typed = await one(server.port, 'GET', '/typed/notes.txt');
  assert.equal(typed.headers['content-type'], 'text/x-notes');
  assert.equal((await one(server.port, 'GET', '/typed/page.html')).headers['content-type'], 'application/xhtml+xml');
  assert.equal((await one(server.port, 'GET', '/typed/a.css')).headers['content-type'], 'text/css; charset=utf-8');
});

test('a deeper section, and the config inherited below it', async (t) => {
  const { base } = layout(t);
  const server = await start(t, {}, {
    '/assets/v1': staticSection(base),
    '/assets/v1/docs': { 'response.stream': true },
    '/assets/v1/noindex': { 'tools.staticdir.on': false },
  });
  assert.equal((await one(server.port, 'GET', '/assets/v1/a.css')).body.toString(), 'a { color: red }');
  const streamed = await one(server.port, 'GET', '/assets/v1/docs/guide.txt');
  assert.equal(streamed.body.toString(), 'the guide', 'the section is still /assets/v1 below it');
  assertLength(streamed, 'streamed file');
  assert.equal((await one(server.port, 'GET', '/assets/v1/noindex/x.txt')).status, 404, 'switched off on a subtree');
  assert.equal((await one(server.port, 'GET', '/assets/a.css')).status, 404);
});

test('staticdir configured in a class _cp_config strips that node\'s path', async (t) => {
  const { base } = layout(t);
  class Files { static _cp_config: Config = staticSection(base); }
  const root = { files: new Files(), index: exposed(() => 'home') };
  const server = await start(t, root);
  assert.equal((await one(server.port, 'GET', '/files/a.css')).body.toString(), 'a { color: red }');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'home');
});

test('options are checked at start-up', () => {
  assert.throws(() => new App({}, { '/s': { 'tools.staticdir.dotfiles': 'yes' } }), /expected a boolean/);
  assert.throws(() => new App({}, { '/s': { 'tools.staticdir.dirr': 'x' } }), /has no option 'dirr'/);
  assert.throws(() => new App({}, { '/s': { 'tools.staticfile.filename': 3 } }), /expected a string/);
});

test('staticdir on without a dir is a 500 that says so', async (t) => {
  const server = await start(t, {}, { '/s': { 'tools.staticdir.on': true } }, { 'request.show_tracebacks': true });
  const r = await one(server.port, 'GET', '/s/a.css');
  assert.equal(r.status, 500);
  assert.match(r.body.toString(), /tools\.staticdir\.dir is not set/);
});

// -- staticfile ---------------------------------------------------------------

test('staticfile serves one file at a path, with HEAD, ranges and 304', async (t) => {
  const { base } = layout(t);
  const server = await start(t, { index: exposed(() => 'home') }, {
    '/favicon.ico': { 'tools.staticfile.on': true, 'tools.staticfile.filename': join(base, 'public', 'a.css') },
    '/rel.txt': { 'tools.staticfile.on': true, 'tools.staticfile.root': base, 'tools.staticfile.filename': 'public/notes.txt' },
    '/typed': { 'tools.staticfile.on': true, 'tools.staticfile.root': base, 'tools.staticfile.filename': 'public/notes.txt', 'tools.staticfile.content_types': { txt: 'text/x-notes' } },
    '/gone': { 'tools.staticfile.on': true, 'tools.staticfile.filename': join(base, 'nope.txt') },
  });
  const fav = await one(server.port, 'GET', '/favicon.ico');
  assert.equal(fav.status, 200);
  assert.equal(fav.body.toString(), 'a { color: red }');
  assert.equal(fav.headers['content-type'], 'text/css; charset=utf-8', 'the type of the file served');
  assert.equal((await one(server.port, 'GET', '/rel.txt')).body.toString(), 'plain notes');
  assert.equal((await one(server.port, 'GET', '/typed')).headers['content-type'], 'text/x-notes');
  const h = await one(server.port, 'HEAD', '/rel.txt');
  assert.equal(h.headers['content-length'], String('plain notes'.length));
  assert.equal(h.body.length, 0);
  assert.equal((await one(server.port, 'GET', '/rel.txt', { Range: 'bytes=-5' })).body.toString(), 'notes');
  const etag = (await one(server.port, 'GET', '/rel.txt')).headers['etag']!;
  assert.equal((await one(server.port, 'GET', '/rel.txt', { 'If-None-Match': etag })).status, 304);
  assert.equal((await one(server.port, 'GET', '/gone')).status, 404, 'a missing file falls through to 404');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'home');
});
