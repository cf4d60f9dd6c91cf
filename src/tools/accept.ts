import type { Context, Request } from '../http/request.js';
import { addVary } from '../http/vary.js';
import { HTTPError } from '../lib/errors.js';
import { MAX_ACCEPT_LENGTH, preferredMedia } from '../core/problem-negotiation.js';
import { optionError, type PlannedRoute, type ToolBehaviour } from '../core/tool.js';

export interface AcceptOptions {
  /** The media types this subtree can send (a list, or one type), the earlier preferred when one range matches several; null (the default) checks nothing. */
  media: readonly string[] | string | null;
}

interface Offered {
  readonly media: readonly string[];
  /** The 406's sentence on what the resource sends. */
  readonly emits: string;
}

// type/subtype as RFC 9110 §8.3.1 spells them: tokens, no wildcard, no parameters.
const TOKEN = "[!#$%&'+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/** What tools.accept chose, per request (a WeakMap: only routes with the tool pay for it). */
const chosen = new WeakMap<Request, string>();

/**
 * The media type `tools.accept` chose for this request from its `media`
 * list (CherryPy's `tools.accept` returns it), so the handler answers in
 * it; undefined where the tool is off or a tool answered the request first.
 *
 * @example
 *   // config: { 'tools.accept.on': true, 'tools.accept.media': ['text/html', 'application/json'] }
 *   const page = exposed(({ request }) => acceptedMedia(request) === 'application/json' ? json(data) : render(data));
 */
export function acceptedMedia(request: Request): string | undefined {
  return chosen.get(request);
}

/**
 * CherryPy's `tools.accept`: the client's preferred type among `media`
 * (q-values, wildcards and specificity as RFC 9110 has them, through
 * negotiator; at equal q the header's order decides, as in CherryPy, and a
 * wildcard matching several takes the earlier in `media`), readable with
 * `acceptedMedia(request)`; a 406 naming what the resource sends when it
 * accepts none of them. No `Accept` (or a blank one) accepts anything: the
 * first type. An `Accept` over 1 KiB is a 400 (HOSTILE 61). With more than
 * one type the response says `Vary: Accept`, so a cache keeps each apart.
 *
 * @example
 *   new App(root, { '/report': { 'tools.accept.on': true, 'tools.accept.media': ['text/csv', 'application/json'] } });
 */
export const accept: ToolBehaviour<AcceptOptions, Offered> = {
  defaults: { media: null },
  prepare({ media }) {
    const list = media === null || media === undefined ? [] : typeof media === 'string' ? [media] : media;
    if (!Array.isArray(list) || !list.every((m) => typeof m === 'string' && MEDIA_TYPE.test(m))) {
      throw optionError('accept', 'media', "a media type ('text/html') or a list of them, without wildcards or parameters", media);
    }
    return { media: Object.freeze([...list]), emits: list.join(', ') };
  },
  appliesTo(_route: PlannedRoute, p) {
    return p.media.length > 0;
  },
  run({ request, response }: Context, p) {
    if (request.handler === null) return; // a tool answered already (a CORS preflight)
    if (p.media.length > 1) addVary(response.headers, 'Accept');
    const header = request.headers.accept;
    const m = preferredMedia(header, p.media);
    if (m === 'too-long') throw new HTTPError(400, `The Accept header is too long (limit ${MAX_ACCEPT_LENGTH} bytes)`);
    if (m === null) {
      // The client's own header, shown escaped on an HTML page and as a JSON string in a problem document (HOSTILE 62).
      throw new HTTPError(406, `Your client sent this Accept header: ${header ?? ''}. But this resource only emits these media types: ${p.emits}.`);
    }
    chosen.set(request, m);
  },
};
