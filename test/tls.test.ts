// TLS in serve(): the server.ssl_* keys (CherryPy's), a one-line refusal when the files do not
// load, the certificate re-read on the engine's 'graceful' without dropping a connection, and
// plain HTTP sent to the TLS port (HOSTILE 42).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import * as net from 'node:net';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import {
  App, DrupeError, Engine, HTTPRedirect, exposed, parseConfig, serve, serverPlugin, type Config, type Context,
} from '../src/index.js';
import { waitFor, within } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { spawnNode, type Spawned } from './helpers/process.js';
import { freePort } from './helpers/server.js';
import { certificateFiles, httpsRequest, makeCertificate, testCertificate, type CertificateFiles } from './helpers/tls.js';

const GUARD_MS = 10_000;

const root = {
  index: exposed(({ request }: Context) => `base=${request.base} scheme=${request.scheme}`),
  away: exposed(() => { throw new HTTPRedirect('/index'); }),
};

function tlsConfig(files: { certFile: string; keyFile: string }, more: Config = {}): Config {
  return { environment: 'test', 'server.ssl_certificate': files.certFile, 'server.ssl_private_key': files.keyFile, ...more };
}

/** serve() must refuse to start with a DrupeError of `code` whose message is one line matching `pattern`. */
async function refuses(config: Config, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config: { environment: 'test', ...config } }), (err: unknown) => {
    assert.ok(err instanceof DrupeError, String(err));
    assert.equal(err.code, code);
    assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('the test certificate serves https on 127.0.0.1 and a client trusting it accepts it', async () => {
  const cert = await testCertificate();
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await httpsRequest(`https://127.0.0.1:${port}/`, cert.cert);
    assert.equal(res.body, 'ok');
    assert.equal(res.peerFingerprint, cert.fingerprint);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('server.ssl_certificate and server.ssl_private_key: serve() speaks https; url, request.base and redirects say https', async (t) => {
  const files = await certificateFiles();
  const running = await serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config: tlsConfig(files) });
  t.after(() => running.close());
  assert.equal(running.url, `https://127.0.0.1:${running.port}`);
  const page = await httpsRequest(`${running.url}/`, files.cert);
  assert.equal(page.status, 200);
  assert.equal(page.body, `base=https://127.0.0.1:${running.port} scheme=https`);
  assert.equal(page.peerFingerprint, files.fingerprint);
  const moved = await httpsRequest(`${running.url}/away`, files.cert);
  assert.equal(moved.status, 303);
  assert.equal(moved.headers.location, `https://127.0.0.1:${running.port}/index`);
});

test('server.ssl_certificate_chain: the intermediate is sent after the certificate', async (t) => {
  const intermediate = await makeCertificate('intermediate.test');
  const leaf = await certificateFiles(await makeCertificate('localhost', intermediate));
  const chainFile = join(leaf.dir, 'chain.pem');
  writeFileSync(chainFile, intermediate.cert);
  const serveWith = async (config: Config): Promise<string[]> => {
    const running = await serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config });
    try {
      return await peerChain(running.port);
    } finally {
      await running.close();
    }
  };
  assert.deepEqual(await serveWith(tlsConfig(leaf, { 'server.ssl_certificate_chain': chainFile })), [leaf.fingerprint, intermediate.fingerprint]);
  assert.deepEqual(await serveWith(tlsConfig(leaf)), [leaf.fingerprint]);
  // A client that trusts the intermediate verifies the leaf it signed.
  const running = await serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config: tlsConfig(leaf, { 'server.ssl_certificate_chain': chainFile }) });
  t.after(() => running.close());
  assert.equal((await httpsRequest(`${running.url}/`, intermediate.cert)).status, 200);
});

/** The certificates the server sent, leaf first (the client checks nothing: only what was sent is read). */
function peerChain(port: number): Promise<string[]> {
  return within(new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const seen: string[] = [];
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c !== undefined && c.fingerprint256 !== undefined && !seen.includes(c.fingerprint256)) {
        seen.push(c.fingerprint256);
        c = c.issuerCertificate;
      }
      socket.destroy();
      resolve(seen);
    });
    socket.on('error', reject);
  }), 'the TLS handshake');
}

test('TLS files that do not load stop start-up with one line naming the key and the file', async () => {
  const files = await certificateFiles();
  const other = await makeCertificate();
  const missing = join(files.dir, 'missing.pem');
  const garbage = join(files.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const aDir = join(files.dir, 'a-folder.pem');
  mkdirSync(aDir);
  const otherKey = join(files.dir, 'other-key.pem');
  writeFileSync(otherKey, other.key);
  await refuses(tlsConfig({ certFile: missing, keyFile: files.keyFile }), 'DRUPE_ERR_CONFIG_FILE', /^Cannot read server\.ssl_certificate .*missing\.pem: ENOENT$/);
  await refuses(tlsConfig({ certFile: files.certFile, keyFile: aDir }), 'DRUPE_ERR_CONFIG_FILE', /^Cannot read server\.ssl_private_key .*a-folder\.pem: EISDIR$/);
  await refuses(tlsConfig({ certFile: garbage, keyFile: files.keyFile }), 'DRUPE_ERR_CONFIG_FILE', /^server\.ssl_certificate .*garbage\.pem is not a valid PEM certificate/);
  await refuses(tlsConfig({ certFile: files.certFile, keyFile: garbage }), 'DRUPE_ERR_CONFIG_FILE', /^server\.ssl_private_key .*garbage\.pem is not a valid PEM private key/);
  await refuses(tlsConfig({ certFile: files.certFile, keyFile: files.keyFile }, { 'server.ssl_certificate_chain': garbage }), 'DRUPE_ERR_CONFIG_FILE', /^server\.ssl_certificate_chain .*garbage\.pem is not a valid PEM certificate/);
  await refuses(tlsConfig({ certFile: files.certFile, keyFile: otherKey }), 'DRUPE_ERR_CONFIG_FILE', /^server\.ssl_private_key .*other-key\.pem does not match server\.ssl_certificate .*cert\.pem/);
  await refuses({ 'server.ssl_certificate': files.certFile }, 'DRUPE_ERR_CONFIG_VALUE', /server\.ssl_certificate is set without server\.ssl_private_key/);
  await refuses({ 'server.ssl_private_key': files.keyFile }, 'DRUPE_ERR_CONFIG_VALUE', /server\.ssl_private_key is set without server\.ssl_certificate/);
  await refuses({ 'server.ssl_certificate_chain': files.certFile }, 'DRUPE_ERR_CONFIG_VALUE', /server\.ssl_certificate_chain is set without/);
});

test('the server.ssl_* and server.http2 keys are checked: global only, of the right type', async () => {
  await refuses({ 'server.ssl_certificate': 42 as unknown as string }, 'DRUPE_ERR_CONFIG_VALUE', /server\.ssl_certificate.*a file path/);
  await refuses({ 'server.http2': 'yes' as unknown as boolean }, 'DRUPE_ERR_CONFIG_VALUE', /server\.http2.*a boolean/);
  await refuses({ 'server.http2_max_concurrent_streams': 0 }, 'DRUPE_ERR_CONFIG_VALUE', /server\.http2_max_concurrent_streams/);
  assert.throws(() => new App(root, { '/': { 'server.ssl_private_key': '/x' } }), /server-wide/);
  assert.throws(() => new App(root, { '/': { 'server.http2': true } }), /server-wide/);
});

test('a config file: relative server.ssl_* paths are read from the file\'s folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-tls-conf-'));
  const { global } = parseConfig([
    '[global]',
    'server.ssl_certificate = "tls/cert.pem"',
    'server.ssl_private_key = "tls/key.pem"',
    'server.ssl_certificate_chain = "/etc/ssl/chain.pem"',
    'server.http2 = True',
    '',
  ].join('\n'), join(dir, 'site.conf'));
  assert.equal(global['server.ssl_certificate'], join(dir, 'tls/cert.pem'));
  assert.equal(global['server.ssl_private_key'], join(dir, 'tls/key.pem'));
  assert.equal(global['server.ssl_certificate_chain'], '/etc/ssl/chain.pem');
  assert.equal(global['server.http2'], true);
});

/** One keep-alive https agent: its second request reuses the first one's connection. */
function keptConnection(ca: string): { agent: https.Agent; get(url: string): Promise<{ body: string; fingerprint: string; socket: TLSSocket }> } {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  return {
    agent,
    get: (url) => new Promise((resolve, reject) => {
      const req = https.get(url, { agent }, (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => {
          resolve({ body, fingerprint, socket });
        });
      });
      req.on('error', reject);
    }),
  };
}

/** Reload on 'graceful': a new certificate for new handshakes, kept connections stay up; a bad file keeps the old one. */
async function reloadCase(files: CertificateFiles, running: { url: string }, graceful: () => Promise<unknown>): Promise<void> {
  const kept = keptConnection(files.cert);
  try {
    const first = await kept.get(`${running.url}/`);
    assert.equal(first.fingerprint, files.fingerprint);

    const renewed = await makeCertificate();
    writeFileSync(files.certFile, renewed.cert);
    writeFileSync(files.keyFile, renewed.key);
    await graceful();
    // The connection made before the reload is still up and still answers.
    const again = await kept.get(`${running.url}/`);
    assert.equal(again.socket, first.socket, 'the same connection');
    assert.equal(again.body, first.body);
    // A new handshake gets the new certificate.
    const fresh = await httpsRequest(`${running.url}/`, renewed.cert);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.peerFingerprint, renewed.fingerprint);

    // A broken file on reload: the reload fails with one line, the renewed certificate stays.
    writeFileSync(files.certFile, 'broken\n');
    await assert.rejects(graceful(), (err: unknown) => {
      assert.ok(err instanceof DrupeError);
      assert.ok(!err.message.includes('\n'));
      assert.match(err.message, /server\.ssl_certificate .*cert\.pem is not a valid PEM certificate/);
      return true;
    });
    const still = await httpsRequest(`${running.url}/`, renewed.cert);
    assert.equal(still.peerFingerprint, renewed.fingerprint);
  } finally {
    kept.agent.destroy();
  }
}

test('engine graceful (SIGHUP) re-reads the TLS files: new handshakes get the new certificate, open connections stay, a bad file keeps the old one', async (t) => {
  const files = await certificateFiles(await makeCertificate());
  const engine = new Engine();
  const running = await serve(new App(root), { host: '127.0.0.1', port: 0, engine, config: tlsConfig(files) });
  t.after(() => running.close());
  await reloadCase(files, running, () => engine.graceful());
});

test('serverPlugin: the engine\'s graceful re-reads the TLS files too', async (t) => {
  const files = await certificateFiles(await makeCertificate());
  const engine = new Engine();
  const plugin = engine.use(serverPlugin(new App(root), { host: '127.0.0.1', port: 0, config: tlsConfig(files) }));
  await engine.start();
  t.after(() => engine.stop());
  const running = plugin.running;
  assert.ok(running !== undefined);
  assert.match(running.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  await reloadCase(files, running, () => engine.graceful());
});

/** Send `bytes` on a raw TCP connection; resolve with what came back once the server closes it. */
function rawExchange(port: number, bytes: string): Promise<{ got: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); resolve({ got: Buffer.concat(got).toString('latin1'), closed: false }); }, GUARD_MS);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve({ got: Buffer.concat(got).toString('latin1'), closed: true }); });
    socket.write(bytes);
  });
}

for (const http2 of [false, true]) {
  test(`HOSTILE 42: plain HTTP sent to the TLS port${http2 ? ' (server.http2)' : ''} gets a closed socket, never a hang, and the server goes on`, async (t) => {
    const files = await certificateFiles();
    const running = await serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config: tlsConfig(files, { 'server.http2': http2 }) });
    t.after(() => running.close());
    const tlsErrors: string[] = [];
    running.server.on('tlsClientError', (err: Error & { code?: string }) => tlsErrors.push(err.code ?? err.message));
    const plain = await within(rawExchange(running.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 'the plain request');
    assert.equal(plain.closed, true, 'the server closed the connection');
    assert.ok(!plain.got.startsWith('HTTP/1.1 200'), 'no answer in clear text');
    assert.deepEqual(tlsErrors, ['ERR_SSL_HTTP_REQUEST']);
    const ok = await httpsRequest(`${running.url}/`, files.cert);
    assert.equal(ok.status, 200);
  });
}

// The `drupe` command with TLS: bin/drupe.js spawned with node in a temp project whose `drupe` is
// this repository's built package; each child killed by PID after its test.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(repo, 'bin', 'drupe.js');
const SITE = "import { App, exposed } from 'drupe';\nexport default new App({ index: exposed(() => `pid ${process.pid}`) });\n";

/** A temp project with site.mjs, the certificate under tls/, and site.conf naming it by relative paths. */
async function tlsProject(t: { after(fn: () => unknown): void }, extra = ''): Promise<{ dir: string; files: CertificateFiles }> {
  const dir = tempDir(t, 'drupe-tls-cli-');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'drupe'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'site', private: true, type: 'module' }));
  writeFileSync(join(dir, 'site.mjs'), SITE);
  const cert = await makeCertificate();
  mkdirSync(join(dir, 'tls'));
  writeFileSync(join(dir, 'tls', 'cert.pem'), cert.cert);
  writeFileSync(join(dir, 'tls', 'key.pem'), cert.key);
  writeFileSync(join(dir, 'site.conf'), `[global]\nenvironment = "test"\nserver.ssl_certificate = "tls/cert.pem"\nserver.ssl_private_key = "tls/key.pem"\n${extra}`);
  return { dir, files: { ...cert, dir: join(dir, 'tls'), certFile: join(dir, 'tls', 'cert.pem'), keyFile: join(dir, 'tls', 'key.pem') } };
}

function command(t: { after(fn: () => unknown): void }, dir: string, args: string[]): Spawned {
  return spawnNode(t, [BIN, ...args], { cwd: dir });
}

test('drupe serve: TLS from a config file (paths relative to it), https in the serving line; SIGHUP serves a renewed certificate, a broken one is one log line and the old one stays', { skip: process.platform === 'win32' }, async (t) => {
  const { dir, files } = await tlsProject(t);
  const c = command(t, dir, ['serve', 'site.mjs', '--config', 'site.conf', '--port', '0']);
  await waitFor(() => / on https:\/\/127\.0\.0\.1:\d+ /.test(c.stdout()) || c.child.exitCode !== null, 'the serving line', GUARD_MS);
  const url = / on (https:\/\/\S+) /.exec(c.stdout())?.[1];
  assert.ok(url !== undefined, c.stdout() + c.stderr());
  assert.equal((await httpsRequest(`${url}/`, files.cert)).peerFingerprint, files.fingerprint);
  const renewed = await makeCertificate();
  writeFileSync(files.certFile, renewed.cert);
  writeFileSync(files.keyFile, renewed.key);
  process.kill(c.child.pid!, 'SIGHUP');
  await waitFor(() => /SIGHUP: re-read/.test(c.stderr() + c.stdout()), 'the reload', GUARD_MS);
  assert.equal((await httpsRequest(`${url}/`, renewed.cert)).peerFingerprint, renewed.fingerprint);
  writeFileSync(files.keyFile, 'broken\n');
  const before = c.stderr().length;
  process.kill(c.child.pid!, 'SIGHUP');
  await waitFor(() => /ssl_private_key/.test(c.stderr().slice(before)), 'the refused reload', GUARD_MS);
  const lines = c.stderr().slice(before).split('\n').filter((l) => /ssl_private_key/.test(l));
  assert.equal(lines.length, 1, c.stderr());
  assert.match(lines[0]!, /server\.ssl_private_key .*key\.pem is not a valid PEM private key/);
  assert.equal((await httpsRequest(`${url}/`, renewed.cert)).peerFingerprint, renewed.fingerprint);
  process.kill(c.child.pid!, 'SIGTERM');
  assert.equal((await within(c.closed, 'the exit', GUARD_MS)).code, 0);
});

for (const workers of [undefined, '2']) {
  test(`drupe serve${workers === undefined ? '' : ' --workers 2'}: a missing certificate file is one line and exit 2`, { skip: process.platform === 'win32' }, async (t) => {
    const { dir } = await tlsProject(t);
    writeFileSync(join(dir, 'site.conf'), '[global]\nserver.ssl_certificate = "tls/none.pem"\nserver.ssl_private_key = "tls/key.pem"\n');
    const c = command(t, dir, ['serve', 'site.mjs', '--config', 'site.conf', '--port', String(await freePort()), ...(workers === undefined ? [] : ['--workers', workers])]);
    assert.equal((await within(c.closed, 'the exit', GUARD_MS)).code, 2, c.stderr());
    const lines = c.stderr().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, c.stderr());
    assert.match(lines[0]!, /Cannot read server\.ssl_certificate .*tls\/none\.pem: ENOENT/);
  });
}

test('drupe serve --workers 2 with TLS: each worker serves https on the shared port', { skip: process.platform === 'win32' }, async (t) => {
  const { dir, files } = await tlsProject(t);
  const port = await freePort();
  const c = command(t, dir, ['serve', 'site.mjs', '--config', 'site.conf', '--port', String(port), '--workers', '2']);
  await waitFor(() => /drupe: serving/.test(c.stdout()) || c.child.exitCode !== null, 'the serving line', GUARD_MS);
  assert.match(c.stdout(), new RegExp(`on https://127\\.0\\.0\\.1:${port} `), c.stdout() + c.stderr());
  const pids = new Set<string>();
  for (let i = 0; i < 100 && pids.size < 2; i++) {
    const res = await httpsRequest(`https://127.0.0.1:${port}/`, files.cert);
    assert.equal(res.status, 200);
    pids.add(res.body);
  }
  assert.equal(pids.size, 2, 'both workers answered over TLS');
  process.kill(c.child.pid!, 'SIGTERM');
  assert.equal((await within(c.closed, 'the exit', GUARD_MS)).code, 0, c.stderr());
});
