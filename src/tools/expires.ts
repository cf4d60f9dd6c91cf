import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';

export interface ExpiresOptions {
  /** How long the response may be cached, in seconds; 0: not at all (revalidate every time). */
  secs: number;
  /** Replace a Cache-Control / Expires the handler set (by default those are kept). */
  force: boolean;
}

const PAST = 'Thu, 01 Jan 1970 00:00:00 GMT';

/**
 * `tools.expires`: caching headers for a subtree. `secs` > 0 gives
 * `Cache-Control: max-age=secs` and an `Expires` that far ahead; 0 gives
 * `Cache-Control: no-cache, must-revalidate`, `Pragma: no-cache` and an
 * `Expires` in the past. A handler's own Cache-Control or Expires wins
 * unless `force` is on.
 *
 * @example
 *   new App(root, { '/static': { 'tools.expires.on': true, 'tools.expires.secs': 86400 } });
 */
export const expires = defineTool<ExpiresOptions>({
  name: 'expires',
  point: 'before_finalize',
  priority: 50,
  defaults: { secs: 0, force: false },
  run({ response }: Context, { secs, force }) {
    if (!Number.isFinite(secs) || secs < 0) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.expires.secs: expected seconds (0 or more), got ${String(secs)}`);
    if (response.committed) return;
    const h = response.headers;
    if (!force && (h.has('cache-control') || h.has('expires'))) return;
    if (secs === 0) {
      h.set('Cache-Control', 'no-cache, must-revalidate');
      h.set('Pragma', 'no-cache');
      h.set('Expires', PAST);
    } else {
      h.set('Cache-Control', `max-age=${Math.floor(secs)}`);
      h.set('Expires', new Date(Date.now() + Math.floor(secs) * 1000).toUTCString());
    }
  },
});
