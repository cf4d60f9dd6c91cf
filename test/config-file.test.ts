// Config files in CherryPy's format (issue 15 part 5): every value kind,
// Python literals, comments, sections served over a real socket, and every
// malformed line or refused key reported with file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { App, DrupeError, defineTool, exposed, loadConfig, parseConfig, serve } from '../src/index.js';
import { tempDir } from './helpers/files.js';
import { one } from './helpers/http.js';

function code(c: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DrupeError, String(err));
    assert.equal(err.code, c, err.message);
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return true;
  };
}

test('every JSON value kind and the Python literals parse', () => {
  const { global, sections } = parseConfig([
    '[global]',
    'server.socket_port = 8080',
    'server.socket_timeout = 2.5',
    'request.show_tracebacks = False',
    'log.screen = True',
    'server.socket_host = "127.0.0.1"',
    "response.headers.server = 'Drupe site'",
    '[/api]',
    'tools.allow.methods = ["GET", \'POST\',]',
    'tools.response_headers.headers = {"X-A": "1", \'X-B\': \'it\\\'s\'}',
    'tools.cors.on = true',
    'tools.gzip.on = false',
    'request.max_json_depth = 1e1',
  ].join('\n'), 'site.conf');
  assert.deepEqual(global, {
    'server.socket_port': 8080, 'server.socket_timeout': 2.5, 'request.show_tracebacks': false,
    'log.screen': true, 'server.socket_host': '127.0.0.1', 'response.headers.server': 'Drupe site',
  });
  assert.deepEqual(sections['/api'], {
    'tools.allow.methods': ['GET', 'POST'], 'tools.response_headers.headers': { 'X-A': '1', 'X-B': "it's" },
    'tools.cors.on': true, 'tools.gzip.on': false, 'request.max_json_depth': 10,
  });
});

test('None is null (a key that takes no null says so, naming file and line)', () => {
  assert.throws(() => parseConfig('[/]\nrequest.max_params = None\n', 'n.conf'), code('DRUPE_ERR_CONFIG_VALUE', /'request\.max_params' in n\.conf:2 \[\/\]: expected a count, got null/));
  assert.throws(() => parseConfig('[/]\ntools.allow.methods = [None]\n', 'n.conf'), code('DRUPE_ERR_CONFIG_VALUE', /'tools\.allow\.methods' in n\.conf:2 \[\/\]/));
});

test('comments (# and ;, whole lines), blank lines, CRLF, repeated headers merge', () => {
  const { global, sections } = parseConfig('# top\r\n; also\r\n\r\n[global]\r\n  # indented\r\nserver.socket_port = 1\r\n[/a]\r\ntools.gzip.on = True\r\n[/a]\r\nresponse.stream = True\r\n');
  assert.deepEqual(global, { 'server.socket_port': 1 });
  assert.deepEqual(sections, { '/a': { 'tools.gzip.on': true, 'response.stream': true } });
});

test('a string keeps # and ; inside quotes; a trailing comment is an error with a hint', () => {
  const { global } = parseConfig('[global]\nresponse.headers.server = "a # b ; c"\n');
  assert.equal(global['response.headers.server'], 'a # b ; c');
  assert.throws(() => parseConfig('[global]\nserver.socket_port = 8080  # the port\n', 'c.conf'), code('DRUPE_ERR_CONFIG_FILE', /^c\.conf:2: key 'server\.socket_port': .*comments go on a line of their own/));
});

test('each malformed line is a one-line DRUPE_ERR_CONFIG_FILE naming file:line', () => {
  const cases: [string, RegExp][] = [
    ['[global]\nserver.socket_port 8080\n', /^m\.conf:2: expected 'key = value'/],
    ['[global]\nserver.socket_port = \n', /^m\.conf:2: key 'server\.socket_port': no value/],
    ['[global]\nserver.socket_host = localhost\n', /^m\.conf:2: .*a string must be quoted/],
    ['[global]\nresponse.headers.server = "open\n', /^m\.conf:2: .*not a JSON value/],
    ["[global]\nresponse.headers.server = 'open\n", /^m\.conf:2: .*unterminated string/],
    ['[global]\ntools.allow.methods = [1, 2\n', /^m\.conf:2: .*not a JSON value/],
    ['\n\n[/static\n', /^m\.conf:3: section header "\[\/static" has no closing '\]'/],
    ['[server]\n', /^m\.conf:1: section \[server\]: expected \[global\] or a path/],
    ['server.socket_port = 1\n', /^m\.conf:1: key 'server\.socket_port' is outside any section/],
    ['[global]\n = 1\n', /^m\.conf:2: no key before '='/],
    ['[global]\nlog.screen = True\nlog.screen = False\n', /^m\.conf:3: key 'log\.screen' is set twice in \[global\]/],
    ['[global]\nlog.screen = Yes\n', /^m\.conf:2: .*unknown name 'Yes'/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseConfig(text, 'm.conf'), code('DRUPE_ERR_CONFIG_FILE', pattern), JSON.stringify(text));
  }
});

test('an unknown key, a misplaced key, a wrong value and a refused tool option name file, line and key', () => {
  assert.throws(() => parseConfig('[global]\n\nserver.socket_prot = 80\n', 'k.conf'),
    code('DRUPE_ERR_CONFIG_KEY', /Config key 'server\.socket_prot' in k\.conf:3 \[global\]: unknown key \(did you mean 'server\.socket_port'\?\)/));
  assert.throws(() => parseConfig('[/blog]\nserver.socket_port = 80\n', 'k.conf'),
    code('DRUPE_ERR_CONFIG_KEY', /'server\.socket_port' in k\.conf:2 \[\/blog\]: this key is server-wide/));
  assert.throws(() => parseConfig('[global]\nserver.socket_port = "80"\n', 'k.conf'),
    code('DRUPE_ERR_CONFIG_VALUE', /'server\.socket_port' in k\.conf:2 \[global\]: expected a port number 0-65535, got "80"/));
  assert.throws(() => parseConfig('[/]\ntools.gzip.on = True\ntools.gzip.level = 42\n', 'k.conf'),
    code('DRUPE_ERR_CONFIG_VALUE', /'tools\.gzip\.level' in k\.conf:3 \[\/\]/));
  assert.throws(() => parseConfig('[/]\ntools.nope.on = True\n', 'k.conf'), code('DRUPE_ERR_CONFIG_KEY', /'tools\.nope\.on' in k\.conf:2 \[\/\]: no tool named 'nope'/));
});

test('a file that cannot be read is a one-line DRUPE_ERR_CONFIG_FILE', (t) => {
  const dir = tempDir(t, 'drupe-conf-');
  assert.throws(() => loadConfig(join(dir, 'missing.conf')), code('DRUPE_ERR_CONFIG_FILE', /^Cannot read config file .*missing\.conf: ENOENT$/));
});

test('relative paths in path keys are read from the file\'s folder; absolute ones and paths under a root stay', (t) => {
  const dir = tempDir(t, 'drupe-conf-');
  writeFileSync(join(dir, '404.html'), 'not here');
  writeFileSync(join(dir, 'site.conf'), [
    '[global]',
    'log.access_file = "logs/access.log"',
    'log.error_file = "/var/log/error.log"',
    'error_page.404 = "404.html"',
    '[/static]',
    'tools.staticdir.on = True',
    'tools.staticdir.dir = "public"',
    '[/rooted]',
    'tools.staticdir.on = True',
    'tools.staticdir.root = "srv"',
    'tools.staticdir.dir = "public"',
    '[/favicon.ico]',
    'tools.staticfile.on = True',
    'tools.staticfile.filename = "favicon.ico"',
  ].join('\n'));
  const { global, sections } = loadConfig(join(dir, 'site.conf'));
  assert.equal(global['log.access_file'], join(dir, 'logs', 'access.log'));
  assert.equal(global['log.error_file'], '/var/log/error.log');
  assert.equal(global['error_page.404'], join(dir, '404.html'));
  assert.equal(sections['/static']!['tools.staticdir.dir'], join(dir, 'public'));
  assert.equal(sections['/rooted']!['tools.staticdir.root'], join(dir, 'srv'));
  assert.equal(sections['/rooted']!['tools.staticdir.dir'], 'public', 'read under its root, as the tool does');
  assert.equal(sections['/favicon.ico']!['tools.staticfile.filename'], join(dir, 'favicon.ico'));
});

test('an error page file missing next to the config file is refused with file:line', (t) => {
  const dir = tempDir(t, 'drupe-conf-');
  writeFileSync(join(dir, 'site.conf'), '[global]\nerror_page.404 = "gone.html"\n');
  assert.throws(() => loadConfig(join(dir, 'site.conf')), code('DRUPE_ERR_CONFIG_VALUE', /'error_page\.404' in .*site\.conf:2 \[global\]: the error page file .*gone\.html/));
});

test('a loaded file configures a real server: [/static] served from beside the file, [global] keys as serve() takes them', async (t) => {
  const dir = tempDir(t, 'drupe-conf-');
  mkdirSync(join(dir, 'public'));
  writeFileSync(join(dir, 'public', 'hello.txt'), 'hello from a config file');
  writeFileSync(join(dir, 'site.conf'), [
    '# A CherryPy-style site file',
    '[global]',
    'environment = "test"',
    "server.socket_host = '127.0.0.1'",
    'server.socket_port = 0',
    'response.headers.server = "ConfSite"',
    '',
    '[/static]',
    'tools.staticdir.on = True',
    'tools.staticdir.dir = "public"',
    '',
    '[/api]',
    'tools.response_headers.on = True',
    'tools.response_headers.headers = {"X-From": "conf"}',
  ].join('\n'));
  class Root {
    index = exposed(() => 'root');
    api = { index: exposed(() => 'api') };
  }
  const { global, sections } = loadConfig(join(dir, 'site.conf'));
  const server = await serve(new App(new Root(), sections), { config: global });
  t.after(() => server.close());
  assert.notEqual(server.port, 0, 'server.socket_port = 0 picked a free port, as in object config');
  const file = await one(server.port, 'GET', '/static/hello.txt');
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'hello from a config file');
  assert.equal(file.headers['server'], 'ConfSite');
  const api = await one(server.port, 'GET', '/api/');
  assert.equal(api.status, 200);
  assert.equal(api.body.toString(), 'api');
  assert.equal(api.headers['x-from'], 'conf');
  const root = await one(server.port, 'GET', '/');
  assert.equal(root.headers['x-from'], undefined);
});

test('a tool option that depends on another is judged with the options above it, at its own line', () => {
  defineTool({
    name: 'config_file_range',
    point: 'before_handler',
    defaults: { low: 0, high: 10 },
    prepare(o) {
      if (o.low > o.high) throw new Error(`tools.config_file_range.low: expected at most high (${o.high}), got ${o.low}`);
      return o;
    },
    run() { /* nothing */ },
  });
  // Alone, low = 20 is over the default high; with high = 50 above it, it is fine.
  const { sections } = parseConfig('[/]\ntools.config_file_range.high = 50\ntools.config_file_range.low = 20\n', 'r.conf');
  assert.deepEqual(sections['/'], { 'tools.config_file_range.high': 50, 'tools.config_file_range.low': 20 });
  assert.throws(() => parseConfig('[/]\ntools.config_file_range.high = 5\ntools.config_file_range.low = 20\n', 'r.conf'),
    code('DRUPE_ERR_CONFIG_VALUE', /'tools\.config_file_range\.low' in r\.conf:3 \[\/\]: expected at most high \(5\)/));
  // The section's options over [global]'s, as serve() puts them: judged at the section's header.
  assert.throws(() => parseConfig('[global]\ntools.config_file_range.high = 30\ntools.config_file_range.low = 20\n[/x]\ntools.config_file_range.high = 5\n', 'r.conf'),
    code('DRUPE_ERR_CONFIG_VALUE', /'tools\.config_file_range\.low' in r\.conf:4 \[\/x\]/));
});

test("the guide's example file loads (its paths made to exist beside it)", (t) => {
  const guide = readFileSync(new URL('../../docs/guide.md', import.meta.url), 'utf8');
  const m = /### Config files[\s\S]*?```ini\n([\s\S]*?)```/.exec(guide);
  assert.ok(m !== null, 'docs/guide.md has an ini example under "Config files"');
  const dir = tempDir(t, 'drupe-conf-');
  mkdirSync(join(dir, 'pages'));
  writeFileSync(join(dir, 'pages', '404.html'), 'gone');
  writeFileSync(join(dir, 'site.conf'), m[1]!);
  const { global, sections } = loadConfig(join(dir, 'site.conf'));
  assert.equal(global['server.socket_port'], 8080);
  assert.equal(global['log.access_file'], join(dir, 'logs', 'access.log'));
  assert.equal(sections['/static']!['tools.staticdir.dir'], join(dir, 'public'));
  assert.deepEqual(sections['/api']!['tools.allow.methods'], ['GET', 'POST']);
  const app = new App({ index: exposed(() => 'x') }, sections);
  app.configure({ ...global, environment: 'test' });
});

test("docs/deploy.md's example file loads and its keys pass the checks", (t) => {
  const deploy = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const m = /## Config files[\s\S]*?```ini\n([\s\S]*?)```/.exec(deploy);
  assert.ok(m !== null, 'docs/deploy.md has an ini example under "Config files"');
  const dir = tempDir(t, 'drupe-conf-');
  mkdirSync(join(dir, 'public'));
  writeFileSync(join(dir, 'site.conf'), m[1]!);
  const { global, sections } = loadConfig(join(dir, 'site.conf'));
  assert.equal(global['server.workers'], 'auto');
  assert.equal(global['log.format'], 'json');
  assert.equal(global['log.error_file'], join(dir, 'logs', 'error.log'));
  assert.equal(sections['/static']!['tools.staticdir.dir'], join(dir, 'public'));
  const app = new App({ index: exposed(() => 'x') }, sections);
  app.configure({ ...global, environment: 'test' });
});
