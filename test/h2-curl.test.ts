// An outside h2 client, as the reports used: curl --http2-prior-knowledge against an App's
// listener on node:http2. A stream that fails after commit must make curl fail (it exited 0 when
// the stream ended with RST_STREAM(NO_ERROR)); a complete one must not. curl with nghttp2 is
// Debian's package: missing is a failure, not a skip (.ci/run installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { exposed, type Config } from '../src/index.js';
import { startH2 } from './helpers/h2.js';
import { tick } from './helpers/async.js';

const CURL = '/usr/bin/curl';
const STREAM: Config = { 'response.stream': true };

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CURL, ['--silent', '--show-error', '--max-time', '20', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

test('curl --http2-prior-knowledge: a stream cut after commit is a failed transfer (INTERNAL_ERROR), a complete one exits 0', async (t) => {
  const root = {
    ok: exposed(function* () { yield 'one;'; yield 'two'; }, STREAM),
    broken: exposed(async function* () {
      yield 'first';
      await tick();
      throw new Error('broke after commit');
    }, STREAM),
    gz: exposed(async function* () {
      yield 'first';
      await tick();
      throw new Error('broke after commit');
    }, { ...STREAM, 'tools.gzip.on': true }),
  };
  const h2 = await startH2(t, root);
  const base = `http://127.0.0.1:${h2.port}`;
  const version = await curl(['--version']);
  assert.equal(version.code, 0, `${CURL} runs`);
  assert.match(version.stdout, /HTTP2/, 'curl is built with HTTP/2 (nghttp2)');
  const ok = await curl(['--http2-prior-knowledge', `${base}/ok`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'one;two');
  for (const path of ['/broken', '/gz']) {
    const cut = await curl(['--http2-prior-knowledge', '--compressed', `${base}${path}`]);
    assert.notEqual(cut.code, 0, `${path}: curl must not report a complete body`);
    assert.match(cut.stderr, /INTERNAL_ERROR|stream.*not closed cleanly/i, `${path}: ${cut.stderr}`);
  }
});
