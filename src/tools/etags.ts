import { createHash } from 'node:crypto';
import { bufferedShape, shapeSelf, WrappingBody, type BodyShape, type Encode } from '../body/body.js';
import { kSettings, type Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { FileBody } from '../body/file.js';
import { StreamBody } from '../body/stream-body.js';
import { evaluateConditions, parseHttpDate, toNotModified } from '../body/conditional.js';
import type { ToolBehaviour } from '../core/tool.js';
import { isThenable } from '../lib/thenable.js';

const EMPTY = Buffer.alloc(0);

/** A strong entity tag for a body: SHA-1, base64url (27 characters). */
export function strongTag(data: Buffer): string {
  return `"${createHash('sha1').update(data).digest('base64url')}"`;
}

/**
 * The body as the handler left it, shaped first; then, for a buffered
 * body, an ETag computed from its bytes (with `autotags`), and the
 * conditional request answered from the ETag/Last-Modified the response
 * carries — before anything is committed.
 */
class EtagBody extends WrappingBody {
  readonly #autotags: boolean;

  constructor(inner: unknown, autotags: boolean) {
    super(inner);
    this.#autotags = autotags;
  }

  async [shapeSelf](ctx: Context, encode: Encode): Promise<BodyShape> {
    let shape = await this.innerShape(ctx, encode);
    const { request, response } = ctx;
    if (response.committed || response.status < 200 || response.status > 299) return shape;
    const h = response.headers;
    if (this.#autotags && !h.has('etag') && response.status === 200 && !response.stream) {
      if (shape.kind === 'chunks' && shape.length === undefined) {
        // A buffered iterable or stream: materialize it here (as the pipeline would) so it can be hashed.
        const bytes = bufferedShape(shape.source, request[kSettings].maxBuffered);
        shape = isThenable(bytes) ? await bytes : bytes;
      }
      if (shape.kind === 'bytes') h.set('ETag', strongTag(shape.data));
    }
    const etag = h.get('etag');
    const lastModified = parseHttpDate(h.get('last-modified'));
    if (etag === undefined && lastModified === undefined) return shape;
    const outcome = evaluateConditions(request.method, request.headers, { etag, lastModified });
    if (outcome === 'proceed') return shape;
    if (shape.kind === 'chunks') await shape.source.close();
    if (outcome === 'precondition-failed') throw new HTTPError(412, 'Precondition Failed');
    toNotModified(response, shape.kind === 'bytes' ? shape.data.length : shape.length);
    return { kind: 'bytes', data: EMPTY, json: false };
  }
}

/**
 * CherryPy's `tools.etags`: answers conditional requests (If-None-Match →
 * 304 or 412, If-Match → 412, and the date forms against a Last-Modified
 * the handler set) from the response's validators. With `autotags`, a
 * buffered 200 without an ETag gets a strong one computed from its bytes.
 * A streamed body is left alone unless the handler set an ETag (or
 * Last-Modified): then the conditions are still answered before commit.
 * Files answer their own conditional requests and are left alone.
 *
 * @example
 *   new App(root, { '/': { 'tools.etags.on': true, 'tools.etags.autotags': true } });
 */
export const etags: ToolBehaviour<{ autotags: boolean }> = {
  defaults: { autotags: false },
  run({ response }: Context, { autotags }) {
    const body = response.body;
    if (body instanceof FileBody || body instanceof StreamBody) return;
    response.body = new EtagBody(body, autotags);
  },
};
