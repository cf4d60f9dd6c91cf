import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed } from '../src/index.js';
import { startApp, get } from './helpers/server.js';

test('a tree serves its index over a real socket', async (t) => {
  const server = await startApp({ index: exposed(() => 'Hello') });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'Hello');
  assert.equal(res.headers.get('content-length'), '5');
});
