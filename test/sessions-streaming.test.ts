// Sessions and streamed bodies (CherryPy's rule): with response.stream on, the session is
// saved and its lock released before the first chunk is sent, so a long SSE stream does
// not block the next request of the same session under locking 'early'; changing the
// session after that is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expose, sse, type Context, type SseMessage } from '../src/index.js';
import { streamRequest } from '../src/testing.js';
import { deferred, within } from './helpers/async.js';
import { start } from './helpers/server.js';
import { cookieOf, sessionGet } from './helpers/session-client.js';

const EARLY = { 'tools.sessions.on': true, 'tools.sessions.locking': 'early', 'tools.sessions.locking_timeout': 5 };

test('a long SSE stream holds no session lock: another request of the same session answers while it runs, and sees what the stream\'s handler saved', async (t) => {
  const finish = deferred();
  const errors: string[] = [];
  class Site {
    @expose() login({ request }: Context): string {
      request.session.set('user', 'ann');
      request.session.set('n', 0);
      return 'in';
    }
    @expose({ 'response.stream': true }) events({ request }: Context): unknown {
      request.session.set('watching', true); // before the body: saved before the first chunk
      const session = request.session;
      async function* feed(): AsyncGenerator<SseMessage> {
        yield { event: 'hello', data: String(session.get('user')) };
        await finish.promise;
        try {
          session.set('late', true);
        } catch (err) {
          errors.push((err as { code?: string }).code ?? String(err));
          yield { event: 'late', data: (err as Error).message };
        }
        yield { event: 'bye', data: 'done' };
      }
      return sse(feed(), { heartbeat: 0 });
    }
    @expose() count({ request }: Context): string {
      const n = (request.session.get('n') as number) + 1;
      request.session.set('n', n);
      return `${n} ${String(request.session.get('watching'))}`;
    }
  }
  const server = await start(t, new Site(), { '/': EARLY });
  const id = cookieOf((await sessionGet(server.url + '/login')).setCookies, 'session_id')!;
  const stream = await streamRequest(server.port, { path: '/events', headers: { Cookie: `session_id=${id}` }, timeoutMs: 10_000 });
  assert.equal(stream.status, 200);
  assert.equal(stream.headers['content-type'], 'text/event-stream;charset=utf-8');
  const events = stream.events()[Symbol.asyncIterator]();
  const hello = await within(events.next(), 'the first event');
  assert.deepEqual({ event: hello.value?.event, data: hello.value?.data }, { event: 'hello', data: 'ann' });
  // The stream is open and its handler's session saved: the same session answers at once (no 503 after locking_timeout).
  for (const expected of ['1 true', '2 true', '3 true']) {
    const r = await within(sessionGet(server.url + '/count', id), 'a request of the streaming session', 4000);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, expected);
  }
  finish.resolve();
  const late = await within(events.next(), 'the late event');
  assert.equal(late.value?.event, 'late');
  assert.match(late.value?.data ?? '', /the session was already saved/);
  assert.deepEqual(errors, ['DRUPE_ERR_SESSION']);
  const bye = await within(events.next(), 'the last event');
  assert.equal(bye.value?.event, 'bye');
  assert.equal((await within(stream.done(), 'the end of the stream')).complete, true);
  assert.equal((await sessionGet(server.url + '/count', id)).text, '4 true', 'the late change was not saved');
});

test('a streamed response carries the new session\'s cookie: the session is saved before commit', async (t) => {
  class Site {
    @expose({ 'response.stream': true }) start({ request }: Context): Generator<string> {
      request.session.set('started', true);
      return (function* () { yield 'one\n'; yield 'two\n'; })();
    }
    @expose() started({ request }: Context): string {
      return String(request.session.get('started'));
    }
  }
  const server = await start(t, new Site(), { '/': EARLY });
  const r = await streamRequest(server.port, { path: '/start' });
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  const id = /^session_id=([A-Za-z0-9_-]{32});/.exec(r.headers['set-cookie'] ?? '')?.[1];
  assert.ok(id !== undefined, `the cookie went out with the streamed response's headers: ${r.headers['set-cookie']}`);
  assert.equal(await r.text(), 'one\ntwo\n');
  assert.equal((await sessionGet(server.url + '/started', id)).text, 'true');
});

test('a handler that changes the session after response.flushHeaders() gets a clear error', async (t) => {
  class Site {
    @expose() async flush({ request, response }: Context): Promise<string> {
      request.session.set('before', 1);
      response.flushHeaders();
      try {
        request.session.set('after', 2);
        return 'no error';
      } catch (err) {
        return `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
    }
    @expose() read({ request }: Context): string {
      return JSON.stringify([request.session.get('before'), request.session.get('after') ?? null]);
    }
  }
  const server = await start(t, new Site(), { '/': EARLY });
  const r = await sessionGet(server.url + '/flush');
  assert.match(r.text, /^DRUPE_ERR_SESSION: session\.set\(\): the response's headers were already sent/);
  const id = cookieOf(r.setCookies, 'session_id');
  assert.ok(id !== undefined, 'the cookie of the change made before the flush went out');
  assert.equal((await sessionGet(server.url + '/read', id)).text, '[1,null]');
});
