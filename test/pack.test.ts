// The package as published: what `npm pack` ships must work in a user's
// project, coverage runs included. npm test builds dist/ before the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Run npm: through the npm that runs `npm test` when there is one (no shell needed on any platform). */
function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  if (cli !== undefined && cli.endsWith('.js')) return execFileSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 60_000, shell: process.platform === 'win32' });
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

test('the packed package works in a project that runs node --test --experimental-test-coverage', (t) => {
  assert.ok(existsSync(join(repo, 'dist', 'index.js')), 'dist/index.js exists (npm run build)');
  const tmp = mkdtempSync(join(tmpdir(), 'drupe-pack-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));

  // --ignore-scripts: a pack script must not rebuild dist/ under the other suites running now.
  const packed = JSON.parse(npm(['pack', '--json', '--offline', '--ignore-scripts', '--pack-destination', tmp], repo)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(tmp, packed[0]!.filename);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);

  // The project vendors the package and links it (what `npm install ./vendor/drupe` does), so
  // its files are inside the project, where the coverage report looks; the package's own
  // dependencies (busboy, mime-types) are this repository's, which needs no registry.
  const project = join(tmp, 'project');
  const vendor = join(project, 'vendor');
  mkdirSync(vendor, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', vendor], { timeout: 30_000 });
  const pkg = join(vendor, 'drupe');
  renameSync(join(vendor, 'package'), pkg);
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(pkg, join(project, 'node_modules', 'drupe'), 'dir');

  // The `drupe` command ships and runs from the package (bin/drupe.js → dist/cli/).
  assert.ok(packed[0]!.files.some((f) => f.path === 'bin/drupe.js'), 'npm pack ships bin/drupe.js');
  assert.match(execFileSync(process.execPath, [join(pkg, 'bin', 'drupe.js'), 'serve', '--help'], { encoding: 'utf8', timeout: 30_000 }), /--workers/);

  // Every source map shipped names sources that are shipped too, or carries them inline.
  for (const file of filesUnder(pkg).filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
    map.sources.forEach((source, i) => {
      const inline = typeof map.sourcesContent?.[i] === 'string';
      assert.ok(inline || existsSync(resolve(dirname(file), source)), `${file} names ${source}, which the package does not ship`);
    });
  }

  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(project, 'app.test.js'), `
    import { test } from 'node:test';
    import assert from 'node:assert/strict';
    import { App, serve, exposed } from 'drupe';
    import { rawRequest } from 'drupe/testing';

    test('an app answers', async () => {
      const server = await serve(new App({ index: exposed(() => 'covered') }), { host: '127.0.0.1', port: 0, config: { 'log.screen': false } });
      try {
        const r = await rawRequest(server.port, 'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');
        assert.equal(r.responses[0].body.toString(), 'covered');
      } finally {
        await server.close();
      }
    });
  `);
  // The run must be a top-level test run of its own, not a child of this one.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_V8_COVERAGE;
  const run = spawnSync(process.execPath, ['--test', '--experimental-test-coverage', 'app.test.js'], { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.doesNotMatch(output, /Could not report code coverage/, output);
  assert.equal(run.status, 0, output);
  // TAP's "# pass 1" (node 20 and 22 when not on a terminal), the spec reporter's "ℹ pass 1" (node 24 and later).
  assert.match(output, /^(?:#|ℹ) pass 1$/m, output);
  // node 20 lists each file by its path (vendor/drupe/dist/http/writer.js); node 22 and later
  // draw a tree (vendor, then drupe, then dist, …, one name a line): either way, Drupe and its files.
  assert.match(output, /vendor[\\/]drupe[\\/]|^\S*\s+drupe\s+\|/m, `the coverage report lists Drupe's files:\n${output}`);
  assert.match(output, /\bwriter\.js\s+\|/, `the coverage report lists Drupe's files:\n${output}`);
});
