// The public members of Request, Response, Headers and App, pinned as exports.test.ts pins
// the exports: a member added or exposed fails here and must be added on purpose (and
// documented in docs/guide.md). Drupe's own internals are keyed by symbols the entry points
// do not export (docs/architecture.md, "Public and internal").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, exposed, type Context, type Request, type Response } from '../src/index.js';
import { start } from './helpers/server.js';

const REQUEST_MEMBERS = [
  'aborted', 'base', 'bodyTaken', 'bytes', 'config', 'contentLength', 'cookies', 'handler', 'hasBody', 'headers', 'host', 'id',
  'json', 'lastEventId', 'login', 'method', 'params', 'path', 'protocol', 'query', 'queryString', 'raw', 'remote', 'scheme',
  'scriptName', 'session', 'signal', 'signedCookies', 'stream', 'target', 'text', 'transferEncoding', 'url',
];
const RESPONSE_MEMBERS = ['body', 'committed', 'deleteCookie', 'flushHeaders', 'headers', 'onStreamError', 'reason', 'setCookie', 'status', 'stream'];
const HEADERS_MEMBERS = ['append', 'clear', 'delete', 'entries', 'get', 'getAll', 'has', 'set', 'size'];
const APP_MEMBERS = ['configure', 'fetch', 'globalConfig', 'inject', 'listener', 'openapi', 'root'];

/** The prototype chain of an instance, itself first, up to (not including) Object.prototype. */
function chain(o: object): object[] {
  const out: object[] = [];
  for (let p: object | null = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) out.push(p);
  return out;
}

/** String-keyed own properties of the instance and its prototypes, 'constructor' left out, sorted. */
function members(o: object): string[] {
  const names = new Set<string>();
  for (const p of chain(o)) for (const n of Object.getOwnPropertyNames(p)) if (n !== 'constructor') names.add(n);
  return [...names].sort();
}

function symbolKeys(o: object): symbol[] {
  return [...new Set(chain(o).flatMap((p) => Object.getOwnPropertySymbols(p)))];
}

/** A real request and response, as a handler gets them over a socket. */
async function seen(t: { after(fn: () => unknown): void }): Promise<{ request: Request; response: Response }> {
  let got: { request: Request; response: Response } | undefined;
  const server = await start(t, {
    index: exposed(({ request, response }: Context) => {
      got = { request, response };
      return 'ok';
    }),
  });
  const res = await fetch(server.url + '/');
  assert.equal(await res.text(), 'ok');
  assert.ok(got !== undefined);
  return got;
}

test('Request, Response, Headers and App show exactly their pinned public members', async (t) => {
  const { request, response } = await seen(t);
  assert.deepEqual(members(request), REQUEST_MEMBERS, 'Request: update REQUEST_MEMBERS (and docs/guide.md) if the change is deliberate');
  assert.deepEqual(members(response), RESPONSE_MEMBERS, 'Response');
  assert.deepEqual(members(response.headers), HEADERS_MEMBERS, 'Headers');
  assert.deepEqual(members(new App({})), APP_MEMBERS, 'App');
});

test("Drupe's internal members are keyed by its own symbols, and no entry point exports one", async (t) => {
  const { request, response } = await seen(t);
  const internal = [request, response, response.headers, new App({})].flatMap(symbolKeys).filter((s) => s !== Symbol.iterator);
  assert.ok(internal.length > 0);
  for (const s of internal) assert.match(String(s.description), /^drupe\./, String(s));
  for (const entry of [await import('../src/index.js'), await import('../src/testing.js')]) {
    const values = Object.values(entry as Record<string, unknown>);
    assert.deepEqual(values.filter((v) => typeof v === 'symbol'), [], 'no symbol is exported');
    for (const s of internal) assert.ok(!values.includes(s), `${String(s)} is reachable from an entry point`);
    // Nor as a property of an exported value (a static on a class, say).
    for (const v of values) {
      if ((typeof v === 'object' || typeof v === 'function') && v !== null) {
        for (const key of Object.getOwnPropertyNames(v)) {
          let value: unknown;
          try {
            value = (v as Record<string, unknown>)[key];
          } catch {
            continue; // a getter that needs an instance
          }
          assert.ok(typeof value !== 'symbol' || !internal.includes(value), `${String(value)} hangs off an export`);
        }
      }
    }
  }
});
