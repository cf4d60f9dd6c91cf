// The contract every tool passes (issue 4, "one shared contract suite"):
// the config switch (off unless documented otherwise), subtree inheritance,
// HEAD (the GET's status and headers, no body), and the error path (a
// handler's HTTPError stays that HTTPError). Add a tool by adding a case to
// CASES: how to switch it on, a request that shows it acted, and how to see that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { HTTPError, exposed, type Config, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { builtinTools } from '../src/tools/index.js';

interface ContractRequest {
  method?: string;
  /** Appended to the path ('/' for trailing_slash). */
  suffix?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface ToolCase {
  name: string;
  /** On without any config (documented: only trailing_slash). */
  onByDefault?: boolean;
  /** Options the tool needs to act, set wherever it is switched on. */
  options?: Config;
  /** What the pages return. */
  page(ctx: Context): unknown;
  /** A request that shows the tool acting. */
  request: ContractRequest;
  /** The response shows the tool acted. */
  applied(res: ParsedResponse): boolean;
  /** A request that reaches the handler with the tool on (default: `request` without its suffix). */
  toHandler?: ContractRequest;
}

const TEXT = 'contract text body '.repeat(30);
const STATIC = mkdtempSync(join(tmpdir(), 'drupe-contract-'));
mkdirSync(join(STATIC, 'a'));
writeFileSync(join(STATIC, 'c'), 'static file');
writeFileSync(join(STATIC, 'a', 'b'), 'static file');
writeFileSync(join(STATIC, 'b'), 'static file'); // /a/b when staticdir is set at /a (the section is stripped)
process.on('exit', () => rmSync(STATIC, { recursive: true, force: true }));

const basic = 'Basic ' + Buffer.from('user:pw').toString('base64');

const CASES: ToolCase[] = [
  {
    name: 'trailing_slash',
    onByDefault: true,
    // The stray-slash redirect (what this request shows) is off by default, as in CherryPy.
    options: { 'tools.trailing_slash.extra': true },
    page: () => 'page',
    request: { suffix: '/' },
    applied: (res) => res.status === 301,
  },
  {
    name: 'gzip',
    page: () => TEXT,
    request: { headers: { 'Accept-Encoding': 'gzip' } },
    applied: (res) => res.headers['content-encoding'] === 'gzip',
  },
  {
    name: 'json_in',
    page: ({ params }) => `x=${String(params.x)}`,
    request: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"x":"from-json"}' },
    applied: (res) => res.body.toString() === 'x=from-json',
  },
  {
    name: 'json_out',
    page: () => ({ ok: true }),
    request: {},
    applied: (res) => res.status === 200 && res.headers['content-type'] === 'application/json' && res.body.toString() === '{"ok":true}',
  },
  {
    name: 'response_headers',
    options: { 'tools.response_headers.headers': { 'X-Contract': 'yes' } },
    page: () => 'page',
    request: {},
    applied: (res) => res.headers['x-contract'] === 'yes',
  },
  {
    name: 'expires',
    options: { 'tools.expires.secs': 60 },
    page: () => 'page',
    request: {},
    applied: (res) => res.headers['cache-control'] === 'max-age=60',
  },
  {
    name: 'allow',
    options: { 'tools.allow.methods': ['GET'] },
    page: () => 'page',
    request: { method: 'DELETE' },
    applied: (res) => res.status === 405,
    toHandler: {},
  },
  {
    name: 'accept',
    options: { 'tools.accept.media': ['text/csv'] },
    page: () => 'page',
    request: { headers: { Accept: 'text/html' } },
    applied: (res) => res.status === 406,
    toHandler: {},
  },
  {
    name: 'proxy',
    options: { 'tools.proxy.trusted': ['127.0.0.1', '::1'] },
    page: ({ request }) => request.remote.ip,
    request: { headers: { 'X-Forwarded-For': '192.0.2.1' } },
    applied: (res) => res.body.toString() === '192.0.2.1',
  },
  {
    name: 'auth_basic',
    options: { 'tools.auth_basic.users': { user: 'pw' } },
    page: ({ request }) => `hello ${String(request.login)}`,
    request: {},
    applied: (res) => res.status === 401,
    toHandler: { headers: { Authorization: basic } },
  },
  {
    name: 'cors',
    page: () => 'page',
    request: { headers: { Origin: 'https://x.example' } },
    applied: (res) => res.headers['access-control-allow-origin'] !== undefined,
  },
  {
    name: 'etags',
    options: { 'tools.etags.autotags': true },
    page: () => TEXT,
    request: {},
    applied: (res) => res.headers.etag !== undefined,
  },
  {
    name: 'caching',
    page: () => 'page',
    // Visible on one request: a malformed max-age is the client's mistake, answered by the tool (CherryPy's 400).
    request: { headers: { 'Cache-Control': 'max-age=soon' } },
    applied: (res) => res.status === 400,
    toHandler: {},
  },
  {
    name: 'staticdir',
    options: { 'tools.staticdir.dir': STATIC },
    page: () => 'page',
    request: {},
    applied: (res) => res.body.toString() === 'static file',
  },
  {
    name: 'staticfile',
    options: { 'tools.staticfile.filename': join(STATIC, 'c'), 'tools.staticfile.match': '/(b|c)$' },
    page: () => 'page',
    request: {},
    applied: (res) => res.body.toString() === 'static file',
  },
  {
    name: 'openapi',
    // path '': every GET where the tool is on gets the document (a POST reaches the handler).
    options: { 'tools.openapi.path': '' },
    page: () => 'page',
    request: {},
    applied: (res) => res.status === 200 && res.headers['content-type'] === 'application/json' && res.body.toString().startsWith('{"openapi":"3.1.'),
    toHandler: { method: 'POST' },
  },
  {
    name: 'sessions',
    // Reading request.session where the tool is off is an error (a 500); a read alone sets no cookie, so HEAD matches GET.
    page: ({ request }) => `session ${request.session.has('x') ? 'with x' : 'empty'}`,
    request: {},
    applied: (res) => res.status === 200 && res.body.toString() === 'session empty',
  },
];

function on(c: ToolCase, value = true): Config {
  const config: Config = { ...c.options };
  config[`tools.${c.name}.on`] = value;
  return config;
}
const off = (c: ToolCase): Config => on({ ...c, options: {} }, false);

function tree(c: ToolCase): object {
  const page = exposed((ctx: Context) => c.page(ctx));
  const fail = exposed(() => { throw new HTTPError(409, 'contract conflict'); });
  return { a: { b: page, fail }, c: page, fail };
}

async function send(port: number, path: string, r: ContractRequest, method = r.method ?? 'GET'): Promise<ParsedResponse> {
  const headers: Record<string, string> = { Host: '127.0.0.1', Connection: 'close', ...r.headers };
  if (r.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(r.body));
  const head = [`${method} ${path}${r.suffix ?? ''} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  const raw = await rawRequest(port, `${head}\r\n\r\n${r.body ?? ''}`);
  assert.equal(raw.responses.length, 1, raw.text);
  return raw.responses[0]!;
}

function bodyText(res: ParsedResponse): string {
  const enc = res.headers['content-encoding'];
  const b = enc === 'gzip' ? zlib.gunzipSync(res.body) : enc === 'br' ? zlib.brotliDecompressSync(res.body) : enc === 'deflate' ? zlib.inflateSync(res.body) : res.body;
  return b.toString('utf8');
}

async function withServer(t: { after(fn: () => unknown): void }, c: ToolCase, sections: Record<string, Config>): Promise<number> {
  const server = await startApp(tree(c), sections);
  t.after(() => server.close());
  return server.port;
}

for (const c of CASES) {
  test(`${c.name}: the config switch — ${c.onByDefault ? 'on' : 'off'} by default, on/off by tools.${c.name}.on, a deeper off wins`, async (t) => {
    const dflt = await withServer(t, c, c.options === undefined ? {} : { '/': c.options });
    assert.equal(c.applied(await send(dflt, '/c', c.request)), c.onByDefault === true, 'default');
    const port = await withServer(t, c, { '/': on(c), '/a': off(c) });
    assert.equal(c.applied(await send(port, '/c', c.request)), true, 'switched on at /');
    assert.equal(c.applied(await send(port, '/a/b', c.request)), false, 'switched off at /a');
    const none = await withServer(t, c, { '/': { ...c.options, ...off(c) } });
    assert.equal(c.applied(await send(none, '/c', c.request)), false, 'switched off at /');
  });

  test(`${c.name}: subtree inheritance — on at /a applies to /a/b, not to /c`, async (t) => {
    const sections: Record<string, Config> = { '/a': on(c) };
    if (c.onByDefault) sections['/'] = off(c);
    const port = await withServer(t, c, sections);
    assert.equal(c.applied(await send(port, '/a/b', c.request)), true, '/a/b');
    assert.equal(c.applied(await send(port, '/c', c.request)), false, '/c');
  });

  test(`${c.name}: HEAD gets the GET's status and headers, and no body`, async (t) => {
    const port = await withServer(t, c, { '/': on(c) });
    const plain: ContractRequest = { ...c.request, body: undefined, method: 'GET' };
    const getRes = await send(port, '/c', plain, 'GET');
    const head = await send(port, '/c', plain, 'HEAD');
    assert.equal(head.status, getRes.status);
    assert.equal(head.body.length, 0);
    const comparable = (res: ParsedResponse): Record<string, string> => {
      const h = { ...res.headers };
      delete h.date; // the clock may tick between the two
      delete h.expires;
      return h;
    };
    assert.deepEqual(comparable(head), comparable(getRes));
  });

  test(`${c.name}: the error path — a handler's HTTPError stays that error`, async (t) => {
    const port = await withServer(t, c, { '/': on(c) });
    const r: ContractRequest = { ...(c.toHandler ?? c.request), suffix: '' };
    for (const path of ['/fail', '/a/fail']) {
      const res = await send(port, path, r);
      assert.equal(res.status, 409, `${path}: ${bodyText(res).slice(0, 200)}`);
      // Still Drupe's HTML error page: not wrapped, re-encoded or replaced by the tool.
      assert.equal(res.headers['content-type'], 'text/html;charset=utf-8');
      assert.match(bodyText(res), /^<!DOCTYPE html>[^]*<p>contract conflict<\/p>/);
    }
  });
}

test('every built-in tool (a row of the table in src/tools/index.ts) has a contract case here, and a section and its place in docs/tools.md', () => {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json'))) root = dirname(root);
  const names = builtinTools.map((t) => t.name).sort();
  assert.deepEqual(CASES.map((c) => c.name).sort(), names);
  const doc = readFileSync(join(root, 'docs', 'tools.md'), 'utf8');
  for (const name of names) assert.match(doc, new RegExp(`^## tools\\.${name}\\s*$`, 'm'), `docs/tools.md has no '## tools.${name}' section`);
  // The table of points and priorities at the top of docs/tools.md says what the code does.
  for (const tool of builtinTools) {
    const row = new RegExp(`^\\| \`${tool.point}\` \\|.*\\b${tool.name} \\(${tool.priority ?? 50}\\)`, 'm');
    assert.match(doc, row, `docs/tools.md lists ${tool.name} at ${tool.point}, priority ${tool.priority ?? 50}`);
  }
});
