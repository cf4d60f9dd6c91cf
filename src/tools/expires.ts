import type { Context } from '../http/request.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface ExpiresOptions {
  /** How long the response may be cached, in seconds; 0: not at all (revalidate every time). */
  secs: number;
  /** Replace a Cache-Control / Expires the handler set (by default those are kept). */
  force: boolean;
}

/** The options worked out once per route: whole seconds, and the Cache-Control value that goes with them. */
interface Policy {
  /** `secs` was 0: not cached at all. */
  readonly never: boolean;
  /** Whole seconds. */
  readonly secs: number;
  readonly cacheControl: string;
  readonly force: boolean;
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
export const expires: ToolBehaviour<ExpiresOptions, Policy> = {
  defaults: { secs: 0, force: false },
  prepare({ secs, force }) {
    if (!Number.isFinite(secs) || secs < 0) throw optionError('expires', 'secs', 'seconds (0 or more)', secs);
    const whole = Math.floor(secs);
    return { never: secs === 0, secs: whole, cacheControl: secs === 0 ? 'no-cache, must-revalidate' : `max-age=${whole}`, force };
  },
  run({ response }: Context, p) {
    if (response.committed) return;
    const h = response.headers;
    if (!p.force && (h.has('cache-control') || h.has('expires'))) return;
    h.set('Cache-Control', p.cacheControl);
    if (p.never) {
      h.set('Pragma', 'no-cache');
      h.set('Expires', PAST);
    } else {
      h.set('Expires', new Date(Date.now() + p.secs * 1000).toUTCString());
    }
  },
};
