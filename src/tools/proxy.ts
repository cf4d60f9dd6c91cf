import { BlockList, isIP } from 'node:net';
import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';

export interface ProxyOptions {
  /** Addresses (or CIDR ranges, `10.0.0.0/8`) of the proxies whose headers are believed. None by default. */
  trusted: readonly string[];
  /** A fixed base URL (`https://example.com`) for scheme and host, instead of the headers. */
  base: string;
  /** The header naming the host the client asked for ('' to ignore). */
  local: string;
  /** The header listing the client's address and the proxies on the way ('' to ignore). */
  remote: string;
  /** The header naming the scheme the client used ('' to ignore). */
  scheme: string;
}

/** '::ffff:10.0.0.1' (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function plainIp(ip: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

interface Prepared {
  readonly trusted: BlockList;
  readonly base: { scheme: 'http' | 'https'; host: string } | undefined;
}

const prepared = new WeakMap<object, Prepared>();

function prepare(o: Readonly<ProxyOptions>): Prepared {
  let p = prepared.get(o);
  if (p !== undefined) return p;
  const trusted = new BlockList();
  if (!Array.isArray(o.trusted)) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.proxy.trusted: expected a list of addresses');
  for (const entry of o.trusted) {
    const [addr = '', prefix] = String(entry).trim().split('/');
    const ip = plainIp(addr);
    const family = isIP(ip);
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (family === 0 || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)))) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.proxy.trusted: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) trusted.addAddress(ip, type);
    else trusted.addSubnet(ip, bits, type);
  }
  let base: Prepared['base'];
  if (o.base !== '') {
    let url: URL;
    try {
      url = new URL(o.base);
    } catch {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.proxy.base: ${JSON.stringify(o.base)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.proxy.base must be an http or https URL');
    base = { scheme: url.protocol === 'https:' ? 'https' : 'http', host: url.host };
  }
  p = { trusted, base };
  prepared.set(o, p);
  return p;
}

function isTrusted(list: BlockList, ip: string): boolean {
  const plain = plainIp(ip);
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The last value of a header that may be repeated or a list: the one our own proxy wrote. */
function lastValue(ctx: Context, name: string): string | undefined {
  if (name === '') return undefined;
  const v = ctx.request.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v.join(',') : v;
  if (s === undefined) return undefined;
  const last = s.split(',').pop()!.trim();
  return last === '' ? undefined : last;
}

/**
 * The client's address from X-Forwarded-For: walking from the right (the
 * entry our proxy added), skip trusted proxies; the first address that is
 * not one is the client. Anything malformed stops the walk.
 */
function clientIp(list: BlockList, header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let client: string | undefined;
  const hops = header.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainIp(hops[i]!.trim());
    if (isIP(hop) === 0) break;
    client = hop;
    if (!isTrusted(list, hop)) break;
  }
  return client;
}

/**
 * `tools.proxy`: behind a reverse proxy (nginx…), take the client's
 * scheme, host and address from `X-Forwarded-Proto`, `X-Forwarded-Host` and
 * `X-Forwarded-For` — only when the connection comes from a `trusted`
 * proxy, so a client talking to the server directly cannot forge them.
 * Redirects (`Location`) and `request.remote` are then right. Unlike
 * CherryPy's tool, nothing is trusted until `trusted` names it.
 *
 * @example
 *   new App(root, { '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1', '::1'] } });
 */
export const proxy = defineTool<ProxyOptions>({
  name: 'proxy',
  point: 'on_start_resource',
  // First of all: every later tool and the redirects see the client's view.
  priority: 10,
  defaults: { trusted: [], base: '', local: 'X-Forwarded-Host', remote: 'X-Forwarded-For', scheme: 'X-Forwarded-Proto' },
  run(ctx, o) {
    const p = prepare(o);
    const { request } = ctx;
    // The socket's peer, not request.remote: an InternalRedirect runs this again.
    const peer = request.raw.socket?.remoteAddress ?? '';
    if (!isTrusted(p.trusted, peer)) return;
    const from: { scheme?: 'http' | 'https'; host?: string; ip?: string } = {};
    if (p.base !== undefined) {
      from.scheme = p.base.scheme;
      from.host = p.base.host;
    } else {
      const scheme = lastValue(ctx, o.scheme)?.toLowerCase();
      if (scheme === 'http' || scheme === 'https') from.scheme = scheme;
      const host = lastValue(ctx, o.local);
      if (host !== undefined) from.host = host;
    }
    if (o.remote !== '') {
      const v = request.headers[o.remote.toLowerCase()];
      const ip = clientIp(p.trusted, Array.isArray(v) ? v.join(',') : v);
      if (ip !== undefined) from.ip = ip;
    }
    request.setForwarded(from);
  },
});
