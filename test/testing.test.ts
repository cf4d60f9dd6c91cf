import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import {
  rawRequest, streamRequest, parseResponses, parseResponsesDetailed, parseEventStream,
  type SseEvent,
} from '../src/testing.js';
import { tick, within } from './helpers/async.js';

// -- helpers ----------------------------------------------------------------

interface Running {
  port: number;
  close(): Promise<void>;
}

async function listen(server: http.Server | net.Server): Promise<Running> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    close: async () => {
      if (server instanceof http.Server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function httpServer(handler: http.RequestListener): Promise<Running> {
  return listen(http.createServer(handler));
}

/** A node:net server whose connections get `respond(socket, requestText)` once a request head arrived. */
function netServer(respond: (socket: net.Socket, request: string) => void): Promise<Running> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let got = '';
    socket.on('data', (d) => {
      if (got.includes('\r\n\r\n')) return;
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) respond(socket, got);
    });
  });
  const running = listen(server);
  return running.then((r) => ({
    port: r.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await r.close();
    },
  }));
}

/** Write each piece as its own chunk, pausing between them. */
async function writeSlowly(res: http.ServerResponse, pieces: string[]): Promise<void> {
  for (const p of pieces) {
    res.write(p);
    await tick(10);
  }
}

// -- content-length ---------------------------------------------------------

test('content-length body: streamRequest and rawRequest', async () => {
  const srv = await httpServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end(`héllo ${req.method} ${req.url}`);
  });
  try {
    const res = await streamRequest(srv.port, { path: '/x?y=1' });
    assert.equal(res.status, 200);
    assert.equal(res.reason, 'OK');
    assert.equal(res.httpVersion, '1.1');
    assert.equal(res.framing, 'content-length');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['set-cookie'], 'a=1\nb=2');
    assert.deepEqual(res.rawHeaders.filter(([n]) => n.toLowerCase() === 'set-cookie'), [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
    assert.ok(res.head.startsWith('HTTP/1.1 200 OK\r\n') && res.head.endsWith('\r\n\r\n'));
    assert.equal(await res.text(), 'héllo GET /x?y=1');
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.equal(done.aborted, false);
    assert.equal(done.body.length, Number(res.headers['content-length']));

    const raw = await rawRequest(srv.port, 'GET /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(raw.closedByServer, true);
    assert.equal(raw.timedOut, false);
    assert.equal(raw.responses.length, 1);
    const [r] = raw.responses;
    assert.equal(r!.framing, 'content-length');
    assert.equal(r!.complete, true);
    assert.equal(r!.body.toString('utf8'), 'héllo GET /r');
    assert.ok(raw.text.startsWith('HTTP/1.1 200 OK\r\n'));
  } finally {
    await srv.close();
  }
});

test('POST body is sent with a Content-Length', async () => {
  const srv = await httpServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    res.end(`${req.headers['content-length']}:${Buffer.concat(parts).toString()}`);
  });
  try {
    const res = await streamRequest(srv.port, { method: 'POST', path: '/echo', body: 'ping', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(await res.text(), '4:ping');
  } finally {
    await srv.close();
  }
});

// -- chunked ------------------------------------------------------------------

test('chunked body: each write is observed as its own chunk, in order', async () => {
  const srv = await httpServer(async (_req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    await writeSlowly(res, ['one', 'two', 'three']);
    res.end();
  });
  try {
    const res = await streamRequest(srv.port);
    assert.equal(res.framing, 'chunked');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const seen: string[] = [];
    let lastAt = -1;
    for await (const c of res.chunks()) {
      seen.push(c.data.toString());
      assert.ok(c.at >= lastAt);
      lastAt = c.at;
    }
    assert.deepEqual(seen, ['one', 'two', 'three']);
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.equal(done.aborted, false);
    assert.equal(done.body.toString(), 'onetwothree');
    assert.deepEqual(done.chunks.map((c) => c.data.toString()), ['one', 'two', 'three']);

    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [r] = raw.responses;
    assert.equal(r!.framing, 'chunked');
    assert.equal(r!.complete, true);
    assert.deepEqual(r!.chunks.map((c) => c.toString()), ['one', 'two', 'three']);
    assert.equal(r!.body.toString(), 'onetwothree');
  } finally {
    await srv.close();
  }
});

test('chunked: chunk extensions and trailers (raw server)', async () => {
  const srv = await netServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n');
    socket.write('5;name=value\r\nhello\r\n');
    socket.write('1');
    socket.write('\r\n');
    socket.write('!\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\nx-other: b\r\n\r\n');
  });
  try {
    const res = await streamRequest(srv.port);
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.deepEqual(done.chunks.map((c) => c.data.toString()), ['hello', '!']);
    assert.deepEqual(done.trailers, { 'x-sum': '42', 'x-other': 'a, b' });

    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.responses[0]!.body.toString(), 'hello!');
    assert.deepEqual(raw.responses[0]!.trailers, { 'x-sum': '42', 'x-other': 'a, b' });
  } finally {
    await srv.close();
  }
});

test('server destroying the socket mid-chunked-body: complete=false, aborted=true', async () => {
  const srv = await httpServer(async (_req, res) => {
    await writeSlowly(res, ['partial', 'more']);
    res.socket?.destroy();
  });
  try {
    const res = await streamRequest(srv.port);
    const seen: string[] = [];
    for await (const c of res.chunks()) seen.push(c.data.toString());
    assert.deepEqual(seen, ['partial', 'more']);
    const done = await res.done();
    assert.equal(done.complete, false);
    assert.equal(done.aborted, true);
    assert.equal(done.body.toString(), 'partialmore');

    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.closedByServer, true);
    assert.equal(raw.responses.length, 1);
    assert.equal(raw.responses[0]!.complete, false);
    assert.equal(raw.responses[0]!.body.toString(), 'partialmore');
  } finally {
    await srv.close();
  }
});

test('content-length body cut short is incomplete', async () => {
  const srv = await netServer((socket) => {
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  });
  try {
    const res = await streamRequest(srv.port);
    const done = await res.done();
    assert.equal(done.complete, false);
    assert.equal(done.aborted, true);
    assert.equal(done.body.toString(), 'abc');
    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.responses[0]!.complete, false);
    assert.equal(raw.responses[0]!.framing, 'content-length');
  } finally {
    await srv.close();
  }
});

// -- HTTP/1.0, close-delimited --------------------------------------------------

test('HTTP/1.0 request gets a close-delimited body', async () => {
  const srv = await httpServer(async (_req, res) => {
    await writeSlowly(res, ['a', 'b']);
    res.end('c');
  });
  try {
    const res = await streamRequest(srv.port, { httpVersion: '1.0' });
    assert.equal(res.framing, 'close');
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.equal(done.body.toString(), 'abc');

    const raw = await rawRequest(srv.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(raw.closedByServer, true);
    assert.equal(raw.responses.length, 1);
    assert.equal(raw.responses[0]!.framing, 'close');
    assert.equal(raw.responses[0]!.complete, true);
    assert.equal(raw.responses[0]!.body.toString(), 'abc');
    // The same bytes without the close are not known to be complete.
    assert.equal(parseResponses(raw.bytes)[0]!.complete, false);
    assert.equal(parseResponses(raw.bytes, { closed: true })[0]!.complete, true);
  } finally {
    await srv.close();
  }
});

// -- keep-alive, pipelining ---------------------------------------------------------

test('keep-alive and pipelined responses parsed in order from rawRequest', async () => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/chunked') {
      res.write('chunked-');
      res.end('body');
    } else {
      res.end(`body of ${req.url}`);
    }
  });
  server.on('connection', () => connections++);
  const srv = await listen(server);
  try {
    const req = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
    // Two pipelined in one write, a third after a pause that closes the connection.
    const raw = await rawRequest(srv.port, [req('/a') + req('/chunked'), req('/c', 'Connection: close\r\n')], { delayBetweenMs: 20 });
    assert.equal(raw.closedByServer, true);
    assert.equal(raw.responses.length, 3);
    assert.deepEqual(raw.responses.map((r) => r.body.toString()), ['body of /a', 'chunked-body', 'body of /c']);
    assert.deepEqual(raw.responses.map((r) => r.framing), ['content-length', 'chunked', 'content-length']);
    assert.ok(raw.responses.every((r) => r.complete));
    assert.equal(raw.responses[2]!.headers['connection'], 'close');
    assert.equal(connections, 1);

    // Without Connection: close the server keeps the connection open: the client stops on silence.
    const idle = await rawRequest(srv.port, req('/k'), { idleMs: 100 });
    assert.equal(idle.closedByServer, false);
    assert.equal(idle.timedOut, false);
    assert.equal(idle.responses.length, 1);
    assert.equal(idle.responses[0]!.headers['connection'], 'keep-alive');
  } finally {
    await srv.close();
  }
});

// -- HEAD, 204, 304 ---------------------------------------------------------

test('HEAD responses are read without a body (methods found in the bytes sent)', async () => {
  const srv = await httpServer((req, res) => {
    if (req.url === '/empty') {
      res.statusCode = 204;
      res.end();
      return;
    }
    res.setHeader('Content-Length', '5');
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  try {
    const raw = await rawRequest(srv.port,
      'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(raw.responses.map((r) => [r.status, r.framing, r.body.toString(), r.complete]), [
      [200, 'none', '', true],
      [204, 'none', '', true],
      [200, 'content-length', 'hello', true],
    ]);
    assert.equal(raw.responses[0]!.headers['content-length'], '5');

    const res = await streamRequest(srv.port, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.framing, 'none');
    assert.equal(res.headers['content-length'], '5');
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.equal(done.body.length, 0);
  } finally {
    await srv.close();
  }
});

// -- 100-continue -----------------------------------------------------------------

test('100 Continue is an interim response', async () => {
  const srv = await httpServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    res.end(`got ${Buffer.concat(parts).toString()}`);
  });
  try {
    const head = 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n';
    const raw = await rawRequest(srv.port, [head, 'data'], { delayBetweenMs: 50 });
    assert.deepEqual(raw.responses.map((r) => r.status), [100, 200]);
    assert.equal(raw.responses[0]!.reason, 'Continue');
    assert.equal(raw.responses[0]!.framing, 'none');
    assert.equal(raw.responses[1]!.body.toString(), 'got data');

    const res = await streamRequest(srv.port, { method: 'POST', body: 'data', headers: { Expect: '100-continue' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.interim.map((r) => r.status), [100]);
    assert.equal(await res.text(), 'got data');
  } finally {
    await srv.close();
  }
});

// -- client-side disconnects --------------------------------------------------------

function endlessServer(onClose: () => void, chunk = 'tick\n'): Promise<Running> {
  return httpServer((_req, res) => {
    const timer = setInterval(() => res.write(chunk), 5);
    res.on('close', () => {
      clearInterval(timer);
      onClose();
    });
  });
}

test('disconnectAfterBytes destroys the socket; the server sees close', async () => {
  let serverSawClose!: () => void;
  const closed = new Promise<void>((resolve) => { serverSawClose = resolve; });
  const srv = await endlessServer(() => serverSawClose());
  try {
    const res = await streamRequest(srv.port, { disconnectAfterBytes: 12 });
    const done = await res.done();
    assert.equal(done.complete, false);
    assert.equal(done.aborted, true);
    assert.ok(done.body.length >= 12);
    await within(closed, 'the server to see the close');
  } finally {
    await srv.close();
  }
});

test('disconnectAfterChunks stops after exactly that many HTTP chunks', async () => {
  let serverSawClose!: () => void;
  const closed = new Promise<void>((resolve) => { serverSawClose = resolve; });
  const srv = await endlessServer(() => serverSawClose());
  try {
    const res = await streamRequest(srv.port, { disconnectAfterChunks: 3 });
    const seen: string[] = [];
    for await (const c of res.chunks()) seen.push(c.data.toString());
    assert.deepEqual(seen, ['tick\n', 'tick\n', 'tick\n']);
    assert.equal((await res.done()).aborted, true);
    await within(closed, 'the server to see the close');
  } finally {
    await srv.close();
  }
});

test('disconnect() mid-stream', async () => {
  let serverSawClose!: () => void;
  const closed = new Promise<void>((resolve) => { serverSawClose = resolve; });
  const srv = await endlessServer(() => serverSawClose());
  try {
    const res = await streamRequest(srv.port);
    for await (const c of res.chunks()) {
      assert.equal(c.data.toString(), 'tick\n');
      res.disconnect();
    }
    const done = await res.done();
    assert.equal(done.aborted, true);
    assert.equal(done.chunks.length, 1);
    await within(closed, 'the server to see the close');
  } finally {
    await srv.close();
  }
});

// -- backpressure ----------------------------------------------------------------------

test('pause/resume: a paused client holds the server back until it resumes', async () => {
  const order: string[] = [];
  const total = 64 * 1024 * 1024; // far more than the kernel buffers of one loopback connection
  const piece = Buffer.alloc(64 * 1024, 'x');
  let written = 0;
  let onStall!: () => void;
  const stalled = new Promise<void>((resolve) => { onStall = resolve; });
  const srv = await httpServer((_req, res) => {
    res.setHeader('Content-Length', String(total));
    const pump = (): void => {
      while (written < total) {
        written += piece.length;
        if (!res.write(piece)) {
          onStall();
          res.once('drain', pump);
          return;
        }
      }
      order.push('server finished');
      res.end();
    };
    pump();
  });
  try {
    const res = await streamRequest(srv.port, { paused: true });
    await within(stalled, 'the server to see backpressure');
    await tick(100); // room for the server to (wrongly) get everything out while the client is paused
    order.push('resume');
    res.resume();
    const done = await res.done();
    assert.equal(done.complete, true);
    assert.equal(done.body.length, total);
    assert.deepEqual(order, ['resume', 'server finished']);
  } finally {
    await srv.close();
  }
});

// -- server-sent events --------------------------------------------------------------------

test('SSE: events parsed as they arrive, multi-line data, CRLF, CR, comments, id, retry', async () => {
  const srv = await httpServer(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    await writeSlowly(res, [
      'retry: 3000\n\n',
      ': keep-alive\n\n',
      'event: greeting\nid: 1\ndata: hello\ndata: world\n\n',
      'data: crlf line\r\ndata:no space\r\n\r\n',
      'data: split across\r',          // CR at the end of one chunk ...
      '\ndata: writes\r',              // ... LF at the start of the next
      '\r',
      'data\nid: 2\nretry: soon\nunknown: x\n\n', // field without colon; invalid retry ignored
      'data: ünïcödé',
      ' ok\n\n',
      'data: never dispatched\n',      // no blank line before the end
    ]);
    res.end();
  });
  try {
    const res = await streamRequest(srv.port, { path: '/events', headers: { Accept: 'text/event-stream' } });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const events: SseEvent[] = [];
    for await (const e of res.events({ comments: true })) events.push(e);
    assert.deepEqual(events, [
      { data: '', retry: 3000 },
      { data: '', comment: 'keep-alive' },
      { event: 'greeting', id: '1', data: 'hello\nworld' },
      { data: 'crlf line\nno space' },
      { data: 'split across\nwrites' },
      { data: '', id: '2' },
      { data: 'ünïcödé ok' },
    ]);

    // Without `comments`, comment lines are not reported.
    const again = await streamRequest(srv.port);
    const plain: SseEvent[] = [];
    for await (const e of again.events()) plain.push(e);
    assert.equal(plain.length, 6);
    assert.ok(plain.every((e) => e.comment === undefined));
  } finally {
    await srv.close();
  }
});

test('parseEventStream handles CR-only line ends and an empty data field', () => {
  assert.deepEqual(parseEventStream('data: a\rdata: b\r\rdata:\n\nevent: x\n\n: c\n\n'), [
    { data: 'a\nb' },
    { data: '' },
  ]);
  assert.deepEqual(parseEventStream(Buffer.from('\uFEFFdata: bom\n\n')), [{ data: 'bom' }]);
});

// -- parseResponses on crafted bytes ---------------------------------------------------------

test('parseResponses: 304, bare LF, folded headers, several interim responses', () => {
  const bytes = Buffer.from(
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 99\r\n\r\n' +
    'HTTP/1.1 200 OK\nX-Long: part one\n  part two\nContent-Length: 2\n\nok' +
    'HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab', 'latin1');
  const parsed = parseResponses(bytes);
  assert.deepEqual(parsed.map((r) => [r.status, r.framing, r.complete, r.body.toString()]), [
    [103, 'none', true, ''],
    [304, 'none', true, ''],
    [200, 'content-length', true, 'ok'],
    [200, 'chunked', false, 'ab'],
  ]);
  assert.equal(parsed[2]!.headers['x-long'], 'part one part two');
  assert.equal(parsed[3]!.reason, '');
  assert.deepEqual(parsed[3]!.chunks.map((c) => c.toString()), ['ab']);
});

test('parseResponses: methods list marks HEAD responses; garbage stops parsing', () => {
  const bytes = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
    'NOT HTTP\r\n\r\n', 'latin1');
  const detailed = parseResponsesDetailed(bytes, { methods: ['HEAD', 'GET'] });
  assert.deepEqual(detailed.responses.map((r) => r.body.toString()), ['', 'hello']);
  assert.match(detailed.error ?? '', /malformed status line/);
});

// -- timeouts and failures ---------------------------------------------------------------------

test('a server that never answers: rawRequest times out, streamRequest rejects', async () => {
  const srv = await netServer(() => { /* silence */ });
  try {
    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 200 });
    assert.equal(raw.timedOut, true);
    assert.equal(raw.closedByServer, false);
    assert.equal(raw.bytes.length, 0);
    assert.deepEqual(raw.responses, []);
    await assert.rejects(streamRequest(srv.port, { timeoutMs: 200 }), /no response head within 200 ms/);
  } finally {
    await srv.close();
  }
});

test('done() and chunks() waits are bounded by timeoutMs', async () => {
  const srv = await httpServer((_req, res) => {
    res.write('first');
    // never ends
  });
  try {
    const res = await streamRequest(srv.port, { timeoutMs: 200 });
    await assert.rejects(res.done(), /timed out after 200 ms waiting for the end of the response/);
    const res2 = await streamRequest(srv.port, { timeoutMs: 200 });
    const it = res2.chunks()[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.data.toString(), 'first');
    await assert.rejects(it.next(), /timed out after 200 ms waiting for the next body chunk/);
  } finally {
    await srv.close();
  }
});

test('connection refused rejects both clients', async () => {
  const srv = await netServer(() => {});
  const port = srv.port;
  await srv.close();
  await assert.rejects(rawRequest(port, 'GET / HTTP/1.1\r\n\r\n'), /ECONNREFUSED/);
  await assert.rejects(streamRequest(port), /ECONNREFUSED/);
});

test('endAfterSend half-closes; the server still answers', async () => {
  const srv = await httpServer((_req, res) => res.end('bye'));
  try {
    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { endAfterSend: true });
    assert.equal(raw.closedByServer, true);
    assert.equal(raw.responses[0]!.body.toString(), 'bye');
  } finally {
    await srv.close();
  }
});

test('a server closing without a response: rawRequest sees the close, streamRequest rejects', async () => {
  const srv = await netServer((socket) => socket.end());
  try {
    const raw = await rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(raw.closedByServer, true);
    assert.deepEqual(raw.responses, []);
    await assert.rejects(streamRequest(srv.port), /before a response head arrived/);
  } finally {
    await srv.close();
  }
});
