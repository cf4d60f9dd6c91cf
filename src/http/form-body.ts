import type { Readable } from 'node:stream';
import { parseFormInto, type Params } from './form.js';
import { parseMultipartInto } from './multipart.js';
import { mediaType } from '../lib/media-type.js';
import type { RequestLimits } from './route-settings.js';

/** What reading a form body needs of the request (a structural view: this file sits beside request.ts). */
export interface FormSource {
  readonly headers: { readonly 'content-type'?: string | undefined };
  bytes(): Promise<Buffer>;
  stream(): Readable;
}

const SHORTEST_FORM_TYPE = 'multipart/form-data'.length;

/** Whether `readFormBody` reads a body of this Content-Type (urlencoded or multipart). */
export function isFormBody(contentType: string | undefined): boolean {
  // Shorter than 'multipart/form-data' (`application/json` is): no form, and no lower-cased copy made to say so.
  if (contentType === undefined || contentType.length < SHORTEST_FORM_TYPE) return false;
  const type = mediaType(contentType);
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
}

/**
 * Read a form body (urlencoded or multipart) into `params`, as CherryPy
 * does before the handler runs; other bodies are left for the handler.
 * Spooled uploads' temp files are added to `tempFiles`.
 */
export async function readFormBody(source: FormSource, params: () => Params, limits: RequestLimits, tempFiles: () => string[]): Promise<void> {
  const type = mediaType(source.headers['content-type']);
  if (type === 'application/x-www-form-urlencoded') {
    const buf = await source.bytes();
    parseFormInto(params(), buf.toString('utf8'), { maxParams: limits.maxParams }, 'form body');
  } else if (type === 'multipart/form-data') {
    await parseMultipartInto(params(), source.stream(), source.headers['content-type']!, {
      maxParts: limits.maxParts,
      maxFileSize: limits.maxFileSize,
      maxFieldSize: 1024 * 1024,
      spoolThreshold: limits.spoolThreshold,
    }, tempFiles());
  }
}
