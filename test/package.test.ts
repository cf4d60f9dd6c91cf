import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// npm test builds dist/ before running the tests; this checks what another package sees.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

test("another package can import { App, serve } from 'drupe' and 'drupe/testing' after the build", (t) => {
  assert.ok(existsSync(join(repo, 'dist', 'index.js')), 'dist/index.js exists (npm run build)');
  assert.ok(existsSync(join(repo, 'dist', 'index.d.ts')), 'type declarations are built');
  assert.ok(existsSync(join(repo, 'dist', 'testing.d.ts')));
  const dir = mkdtempSync(join(tmpdir(), 'drupe-consumer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'drupe'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
  writeFileSync(join(dir, 'main.js'), `
    import { App, serve, exposed } from 'drupe';
    import { rawRequest } from 'drupe/testing';
    const server = await serve(new App({ index: exposed(() => 'from a consumer') }), { port: 0, config: { 'log.screen': false } });
    const r = await rawRequest(server.port, 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
    await server.close();
    process.stdout.write(r.responses[0].status + ' ' + r.responses[0].body.toString());
  `);
  const out = execFileSync(process.execPath, [join(dir, 'main.js')], { cwd: dir, encoding: 'utf8', timeout: 20_000 });
  assert.equal(out, '200 from a consumer');
});
