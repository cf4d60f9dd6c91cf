// The body readers a declared body goes through (issue 18): request.text() decodes UTF-8 as a
// TextDecoder would (a leading byte order mark dropped, bad bytes as U+FFFD) without making
// one per request; other charsets still go through TextDecoder; a charset it does not know is a 415.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, type Context } from '../src/index.js';
import { get, start } from './helpers/server.js';

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
