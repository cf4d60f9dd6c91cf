// TLS for serve(): the certificate files CherryPy's `server.ssl_*` keys name, read at start-up and
// again on the engine's 'graceful' (SIGHUP), so a renewed certificate is served without a restart.
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { Config } from '../core/config.js';
import { DrupeError } from '../lib/errors.js';

/** The files a TLS server is set up from, as the config names them. */
export interface TlsFiles {
  readonly certificate: string;
  readonly privateKey: string;
  readonly chain: string | undefined;
}

/** What node's TLS server takes: PEM text, the chain after the certificate. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** The TLS files `c` names; undefined for plain HTTP. A key without its pair stops start-up. */
export function tlsFilesOf(c: Config): TlsFiles | undefined {
  const certificate = c['server.ssl_certificate'];
  const privateKey = c['server.ssl_private_key'];
  const chain = c['server.ssl_certificate_chain'];
  if (certificate === undefined && privateKey === undefined) {
    if (chain !== undefined) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'server.ssl_certificate_chain is set without server.ssl_certificate and server.ssl_private_key');
    return undefined;
  }
  if (certificate === undefined) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'server.ssl_private_key is set without server.ssl_certificate');
  if (privateKey === undefined) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'server.ssl_certificate is set without server.ssl_private_key');
  return { certificate, privateKey, chain };
}

function readPem(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DrupeError('DRUPE_ERR_CONFIG_FILE', `Cannot read ${key} ${file}: ${code}`);
  }
}

/** node's OpenSSL messages, on one line. */
const oneLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();

/**
 * Read and check the files: each is read, the certificate(s) and the key parsed, and the key
 * must belong to the certificate. Any failure is one DrupeError with a one-line reason that
 * names the key and the file (the command prints it and exits 2).
 */
export function readTls(files: TlsFiles): TlsMaterial {
  const cert = readPem('server.ssl_certificate', files.certificate);
  const key = readPem('server.ssl_private_key', files.privateKey);
  const chain = files.chain === undefined ? '' : readPem('server.ssl_certificate_chain', files.chain);
  const check = (what: string, file: string, parse: () => unknown): void => {
    try {
      parse();
    } catch (err) {
      throw new DrupeError('DRUPE_ERR_CONFIG_FILE', `${what} ${file} is not a valid PEM ${what === 'server.ssl_private_key' ? 'private key' : 'certificate'} (${oneLine(err)})`);
    }
  };
  check('server.ssl_certificate', files.certificate, () => new X509Certificate(cert));
  if (files.chain !== undefined) check('server.ssl_certificate_chain', files.chain, () => new X509Certificate(chain));
  check('server.ssl_private_key', files.privateKey, () => createPrivateKey(key));
  const material = { cert: chain === '' ? cert : `${cert.trimEnd()}\n${chain}`, key };
  try {
    createSecureContext(material);
  } catch (err) {
    throw new DrupeError('DRUPE_ERR_CONFIG_FILE', `server.ssl_private_key ${files.privateKey} does not match server.ssl_certificate ${files.certificate} (${oneLine(err)})`);
  }
  return material;
}
