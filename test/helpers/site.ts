// A scaled-out site for one test: several real Drupe processes (test/fixtures/sessions-site.ts),
// each with its own config file, port and logs in its own temp dir, behind a real nginx running
// the block of docs/sessions.md. Every process is killed by PID when the test ends.
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './async.js';
import { documentedNginxBlock, replaceOnce, startNginx } from './nginx.js';
import { spawnNode, type Spawned } from './process.js';
import { freePort } from './server.js';

const SCALING = new URL('../../../docs/sessions.md', import.meta.url);
const FIXTURE = new URL('../fixtures/sessions-site.js', import.meta.url).pathname;
/** The documented addresses the test points at its own ports. */
const DOC_LISTEN = 'listen 80;';
const DOC_UPSTREAMS = ['server 127.0.0.1:8080;', 'server 127.0.0.1:8081;'];
/** The same keys in every process (docs/sessions.md): each reads the others' cookies. */
const SECRET = 'scaleout-test-secret-key-0123456789abcdef';

export interface SiteProcess {
  readonly name: string;
  readonly port: number;
  readonly spawned: Spawned;
  /** Its error log so far. */
  errorLog(): string;
}

export interface Site {
  /** nginx's port: the site's address. */
  readonly port: number;
  readonly processes: readonly SiteProcess[];
  /** The nginx error log so far. */
  nginxLog(): string;
}

/** The config file of one process, in CherryPy's format. */
function configFile(port: number, dir: string, redisUrl: string): string {
  return [
    '[global]',
    'environment = "production"',
    'server.socket_host = "127.0.0.1"',
    `server.socket_port = ${port}`,
    `server.secret_keys = ["${SECRET}"]`,
    'log.screen = False',
    `log.access_file = "${join(dir, 'access.log')}"`,
    `log.error_file = "${join(dir, 'error.log')}"`,
    '',
    '[/]',
    'tools.sessions.on = True',
    'tools.sessions.storage_type = "redis"',
    `tools.sessions.redis_url = "${redisUrl}"`,
    'tools.sessions.locking = "early"',
    // 200 requests of one session queue for its lock: none of them may give up.
    'tools.sessions.locking_timeout = 60',
    '',
    '[/plain]',
    'tools.sessions.on = False',
    '',
    '[/open]',
    'tools.sessions.on = False',
    '',
  ].join('\n');
}

/** Two (or `count`) Drupe processes on Redis at `redisUrl`, behind nginx. */
export async function startSite(t: { after(fn: () => unknown): void }, redisUrl: string, count = 2): Promise<Site> {
  const processes: SiteProcess[] = [];
  for (let i = 0; i < count; i++) {
    const name = `p${i + 1}`;
    const dir = mkdtempSync(join(tmpdir(), `drupe-site-${name}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const file = join(dir, 'site.conf');
    writeFileSync(file, configFile(port, dir, redisUrl));
    const spawned = spawnNode(t, [FIXTURE, file, name], { cwd: dir, lines: 'both' });
    const read = (): string => { try { return readFileSync(join(dir, 'error.log'), 'utf8'); } catch { return ''; } };
    processes.push({ name, port, spawned, errorLog: read });
  }
  for (const p of processes) await p.spawned.line((l) => l === `listening ${p.port}`, `${p.name} to listen`, 30_000);
  const block = documentedNginxBlock(SCALING);
  const nginx = await startNginx(t, (port) => {
    let b = replaceOnce(block, DOC_LISTEN, `listen 127.0.0.1:${port};`);
    // The documented block names two upstreams; a site of another size gets as many lines.
    b = replaceOnce(b, DOC_UPSTREAMS[1]!, '');
    return replaceOnce(b, DOC_UPSTREAMS[0]!, processes.map((p) => `server 127.0.0.1:${p.port};`).join('\n    '));
  }, { workerConnections: 2048 });
  return { port: nginx.port, processes, nginxLog: nginx.errorLog };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `X-Served-By`: the process whose handler ran ('' when none did). */
  servedBy: string;
  /** The `session_id=…` pair of a Set-Cookie, when the response set one. */
  cookie: string | undefined;
}

/** The `session_id=value` pair a response set, if any. */
export function sessionCookieOf(headers: http.IncomingHttpHeaders): string | undefined {
  for (const line of headers['set-cookie'] ?? []) {
    const pair = line.split(';')[0]!.trim();
    if (pair.startsWith('session_id=') && pair !== 'session_id=') return pair;
  }
  return undefined;
}

/** One GET on a new connection to 127.0.0.1:`port`, with `cookie` when given; fails after `ms` (a hang guard). */
export function call(port: number, path: string, cookie?: string, ms = 30_000): Promise<Answer> {
  return within(new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body,
        servedBy: String(res.headers['x-served-by'] ?? ''),
        cookie: sessionCookieOf(res.headers),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }), `GET ${path} on ${port}`, ms);
}
