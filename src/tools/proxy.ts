import { BlockList, isIP } from 'node:net';
import { kSetForwarded, type Context } from '../http/request.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

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
  /** The header carrying the proxy's request id, which becomes `request.id` ('' to ignore). */
  id: string;
}

/** '::ffff:10.0.0.1' (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function plainIp(ip: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

/** The options worked out once per route: the trusted list as a BlockList, the base URL parsed, header names lower-cased. */
interface Proxy {
  readonly trusted: BlockList;
  readonly base: { scheme: 'http' | 'https'; host: string } | undefined;
  /** Header names, lower case ('' to ignore). */
  readonly local: string;
  readonly remote: string;
  readonly scheme: string;
  readonly id: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

function trustedList(entries: readonly string[]): BlockList {
  const trusted = new BlockList();
  if (!Array.isArray(entries)) throw optionError('proxy', 'trusted', 'a list of IP addresses or CIDR ranges', entries);
  for (const entry of entries) {
    const [addr = '', prefix] = String(entry).trim().split('/');
    const ip = plainIp(addr);
    const family = isIP(ip);
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (typeof entry !== 'string' || family === 0 || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)))) {
      throw optionError('proxy', 'trusted', "IP addresses or CIDR ranges ('10.0.0.0/8'), not names", entry);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) trusted.addAddress(ip, type);
    else trusted.addSubnet(ip, bits, type);
  }
  return trusted;
}

function baseUrl(base: string): Proxy['base'] {
  if (base === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(base);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw optionError('proxy', 'base', "an http or https URL ('https://example.com')", base);
  return { scheme: url.protocol === 'https:' ? 'https' : 'http', host: url.host };
}

function headerName(option: 'local' | 'remote' | 'scheme' | 'id', name: string): string {
  if (typeof name !== 'string' || !TOKEN.test(name)) throw optionError('proxy', option, "a header name ('' to ignore)", name);
  return name.toLowerCase();
}

function isTrusted(list: BlockList, ip: string): boolean {
  const plain = plainIp(ip);
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The last value of a header that may be repeated or a list: the one our own proxy wrote. */
function lastValue(ctx: Context, name: string): string | undefined {
  if (name === '') return undefined;
  const v = ctx.request.headers[name];
  const s = Array.isArray(v) ? v.join(',') : v;
  if (s === undefined) return undefined;
  const last = s.split(',').pop()!.trim();
  return last === '' ? undefined : last;
}

/** A request id is printable ASCII without spaces, at most 128 characters; anything else is ignored. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The proxy's request id, if it sent one valid one. */
function requestId(ctx: Context, name: string): string | undefined {
  if (name === '') return undefined;
  const v = ctx.request.headers[name];
  return typeof v === 'string' && REQUEST_ID.test(v) ? v : undefined;
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
 * Redirects (`Location`) and `request.remote` are then right, and the
 * proxy's `X-Request-Id` becomes `request.id` (in the logs, and echoed
 * when `request.id_header` is set). Unlike
 * CherryPy's tool, nothing is trusted until `trusted` names it.
 *
 * @example
 *   new App(root, { '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1', '::1'] } });
 */
export const proxy: ToolBehaviour<ProxyOptions, Proxy> = {
  defaults: { trusted: [], base: '', local: 'X-Forwarded-Host', remote: 'X-Forwarded-For', scheme: 'X-Forwarded-Proto', id: 'X-Request-Id' },
  prepare(o) {
    return {
      trusted: trustedList(o.trusted),
      base: baseUrl(o.base),
      local: headerName('local', o.local),
      remote: headerName('remote', o.remote),
      scheme: headerName('scheme', o.scheme),
      id: headerName('id', o.id),
    };
  },
  run(ctx, p) {
    const { request } = ctx;
    // The socket's peer, not request.remote: an InternalRedirect runs this again.
    const peer = request.raw.socket?.remoteAddress ?? '';
    if (!isTrusted(p.trusted, peer)) return;
    const from: { scheme?: 'http' | 'https'; host?: string; ip?: string; id?: string } = {};
    if (p.base !== undefined) {
      from.scheme = p.base.scheme;
      from.host = p.base.host;
    } else {
      const scheme = lastValue(ctx, p.scheme)?.toLowerCase();
      if (scheme === 'http' || scheme === 'https') from.scheme = scheme;
      const host = lastValue(ctx, p.local);
      if (host !== undefined) from.host = host;
    }
    if (p.remote !== '') {
      const v = request.headers[p.remote];
      const ip = clientIp(p.trusted, Array.isArray(v) ? v.join(',') : v);
      if (ip !== undefined) from.ip = ip;
    }
    const id = requestId(ctx, p.id);
    if (id !== undefined) {
      from.id = id;
      // Echoed as the lifecycle echoes the generated one (request.id_header).
      const echo = request.config['request.id_header'];
      if (typeof echo === 'string' && echo !== '') ctx.response.headers.set(echo, id);
    }
    request[kSetForwarded](from);
  },
};
