// TLS in serve(): the server.ssl_* keys, certificate reload, plain HTTP to the TLS port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCertificate, httpsRequest } from './helpers/tls.js';

test('the test certificate serves https on 127.0.0.1 and a client trusting it accepts it', async () => {
  const cert = await testCertificate();
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await httpsRequest(`https://127.0.0.1:${port}/`, cert.cert);
    assert.equal(res.body, 'ok');
    assert.equal(res.peerFingerprint, cert.fingerprint);
    const local = await httpsRequest(`https://localhost:${port}/`, cert.cert).catch((e: Error) => e);
    assert.ok(!(local instanceof Error) || /ECONNREFUSED/.test(local.message), String(local));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
