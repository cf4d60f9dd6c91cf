// The body readers a declared body goes through (issue 18): request.text() decodes UTF-8 as a
// TextDecoder would (a leading byte order mark dropped, bad bytes as U+FFFD) without making
// one per request; other charsets still go through TextDecoder; a charset it does not know is a 415.
// A declared body is read for the pipeline without a promise (src/http/json-wait.ts): what the
// handler's own request.json(), bytes() and text() give afterwards is still the body as read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { z } from 'zod';
import { defineTool, exposed, HTTPError, type Context } from '../src/index.js';
import { get, start } from './helpers/server.js';
import { within } from './helpers/async.js';

const samples: Buffer[] = [
  Buffer.from('plain ascii'),
  Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with a BOM: é')]),
  Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xe2, 0x82, 0x63, 0xf0, 0x9f, 0x98]), // invalid and truncated sequences
  Buffer.from([0xef, 0xbb]), // half a BOM
  Buffer.from('naïve ☃ 𝄞'),
];

test('request.text() of a UTF-8 body is what TextDecoder gives, BOM and bad bytes included', async (t) => {
  const server = await start(t, { echo: exposed(async ({ request }: Context) => JSON.stringify(await request.text())) });
  for (const body of samples) {
    for (const type of ['text/plain', 'text/plain; charset=UTF-8', 'text/plain; charset=utf8']) {
      const r = await get(server.url + '/echo', { method: 'POST', body, headers: { 'Content-Type': type } });
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(r.text), new TextDecoder('utf-8').decode(body), `${type}: ${body.toString('hex')}`);
    }
  }
  const latin1 = await get(server.url + '/echo', { method: 'POST', body: Buffer.from([0x63, 0x61, 0x66, 0xe9]), headers: { 'Content-Type': 'text/plain; charset=iso-8859-1' } });
  assert.equal(JSON.parse(latin1.text), 'café');
  const unknown = await get(server.url + '/echo', { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain; charset=x-nonsense' } });
  assert.equal(unknown.status, 415);
});

test("a declared body: the handler's request.json(), bytes() and text() give the body the pipeline read, one parsed value", async (t) => {
  const schema = z.object({ n: z.coerce.number() });
  const server = await start(t, {
    both: exposed(async ({ body, request }) => {
      const json = await request.json();
      return JSON.stringify({ body, json, same: json === (await request.json()), text: await request.text(), bytes: (await request.bytes()).length });
    }, { body: schema }),
  });
  const sent = '{"n":"7","extra":true}';
  const r = await get(server.url + '/both', { method: 'POST', body: sent, headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), { body: { n: 7 }, json: { n: '7', extra: true }, same: true, text: sent, bytes: sent.length });
  const bad = await get(server.url + '/both', { method: 'POST', body: '{"n":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(bad.status, 400);
  const invalid = await get(server.url + '/both', { method: 'POST', body: '{"n":"x"}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(invalid.status, 400);

  // A chunked body in two parts, the second sent once the first has arrived: the pipeline resumes on the last chunk.
  const answer = await within(new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(server.url + '/both', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.write('{"n":');
    setTimeout(() => req.end('"12"}'), 50);
  }), 'the chunked answer');
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(JSON.parse(answer.text).body, { n: 12 });
});

test('a declared body that failed (invalid JSON, too large): request.json() afterwards rejects with the same error, it does not wait', async (t) => {
  const seen: string[] = [];
  defineTool({
    name: 'validation_body_json_after',
    point: 'on_end_resource',
    defaults: {},
    async run({ request }) {
      try {
        await within(request.json(), 'json() after the pipeline read the body');
        seen.push('value');
      } catch (err) {
        seen.push(err instanceof HTTPError ? String(err.status) : String(err));
      }
    },
  });
  const server = await start(t, { take: exposed(({ body }) => JSON.stringify(body), { body: z.object({ n: z.number() }) }) }, {
    '/': { 'tools.validation_body_json_after.on': true, 'server.max_request_body_size': 64 },
  });
  const post = (body: string) => get(server.url + '/take', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  assert.equal((await post('{"n":1}')).status, 200);
  assert.equal((await post('{"n":')).status, 400);
  // Chunked (no Content-Length): the 413 comes from the read itself, past the limit.
  const big = new TextEncoder().encode(JSON.stringify({ n: 1, pad: 'x'.repeat(100) }));
  const stream = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(big); c.close(); } });
  const init = { method: 'POST', body: stream, duplex: 'half', headers: { 'Content-Type': 'application/json' } } as RequestInit;
  assert.equal((await get(server.url + '/take', init)).status, 413);
  assert.deepEqual(seen, ['value', '400', '413']);
});
