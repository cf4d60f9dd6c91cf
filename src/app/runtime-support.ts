// What serve() refuses on a runtime other than node, at start-up, rather than half-work: each
// refusal names the runtime, the key and the reason (docs/protocols.md, "Other runtimes: Bun and
// Deno", and test/runtimes-protocols.test.ts, which checks each reason still holds).
import { DrupeError } from '../lib/errors.js';

/**
 * `server.http2` on Bun: Bun's node:http2 answers `stream.close(NGHTTP2_INTERNAL_ERROR)` with an
 * empty DATA frame flagged END_STREAM, the RST_STREAM never sent, so a body cut after commit
 * would reach the client as a complete one — the silent truncation the contract forbids (S5).
 */
export function checkHttp2Runtime(): void {
  const bun = (globalThis as { Bun?: { version?: unknown } }).Bun;
  if (bun === undefined) return;
  throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `server.http2 is not supported on Bun ${String(bun.version)}: its node:http2 ends a stream cut after commit with END_STREAM, not RST_STREAM, so a truncated body would look complete; serve HTTP/1.1 (TLS works) or put an HTTP/2 proxy in front`);
}
