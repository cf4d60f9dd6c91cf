// TLS for tests: a self-signed certificate for 127.0.0.1 and localhost, made by the test run
// itself (no key file is committed), and small https / h2 clients that trust it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface TestCertificate {
  /** PEM private key. */
  key: string;
  /** PEM certificate (self-signed: it is also the CA a client must trust). */
  cert: string;
  /** SHA-256 fingerprint, to tell two certificates apart in a test. */
  fingerprint: string;
}

export interface CertificateFiles extends TestCertificate {
  dir: string;
  keyFile: string;
  certFile: string;
}

/**
 * A new certificate each call (EC P-256: quick to make), valid for 127.0.0.1, ::1 and localhost;
 * self-signed, or signed by `issuer` (to test a chain).
 */
export async function makeCertificate(cn = 'localhost', issuer?: TestCertificate): Promise<TestCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...(issuer === undefined ? {} : { ca: { key: issuer.key, cert: issuer.cert } }),
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

let shared: Promise<TestCertificate> | undefined;

/** One certificate shared by every test in the process (made once). */
export function testCertificate(): Promise<TestCertificate> {
  shared ??= makeCertificate();
  return shared;
}

/** Write `cert` (or the shared one) as cert.pem / key.pem into a new temp folder. */
export async function certificateFiles(cert?: TestCertificate): Promise<CertificateFiles> {
  const c = cert ?? await testCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'drupe-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  writeFileSync(keyFile, c.key, { mode: 0o600 });
  writeFileSync(certFile, c.cert);
  return { ...c, dir, keyFile, certFile };
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The ALPN protocol the TLS handshake chose ('http/1.1', or false when none). */
  alpn: string | false | null;
  /** Fingerprint of the certificate the server presented. */
  peerFingerprint: string;
}

/** One HTTP/1.1 request over TLS trusting `ca`, on a fresh connection (no agent). */
export function httpsRequest(
  url: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    // ALPN offers only http/1.1, as an HTTP/1.1-only client does (node's https types omit the field).
    const requestOptions: https.RequestOptions & { ALPNProtocols: string[] } = {
      method: options.method ?? 'GET',
      headers: options.headers,
      ca,
      agent: false,
      ALPNProtocols: ['http/1.1'],
    };
    const req = https.request(url, requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const socket = res.socket as import('node:tls').TLSSocket;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          alpn: socket.alpnProtocol ?? null,
          peerFingerprint: socket.getPeerX509Certificate?.()?.fingerprint256 ?? '',
        });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface H2Result {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** Connect an h2 session: TLS trusting `ca` when the origin is https, prior knowledge when http. */
export function h2Connect(origin: string, ca?: string): http2.ClientHttp2Session {
  const session = http2.connect(origin, ca === undefined ? {} : { ca });
  // A test reads errors from its requests; an unhandled session 'error' would crash the run.
  session.on('error', () => {});
  return session;
}

/** One request on `session`; resolves with the whole body once the stream ends. */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
  body?: string,
): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers }, { endStream: body === undefined });
    let status = 0;
    let response: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => { response = h; status = Number(h[':status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve({ status, headers: response, body: Buffer.concat(chunks).toString('utf8') }));
    if (body !== undefined) stream.end(body);
  });
}

/** Close `session` politely, bounded: destroy it if the close does not finish. */
export function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.destroyed || session.closed) { resolve(); return; }
    const timer = setTimeout(() => { session.destroy(); resolve(); }, 2000);
    session.close(() => { clearTimeout(timer); resolve(); });
  });
}
