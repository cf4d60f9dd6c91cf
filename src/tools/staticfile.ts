import { resolve } from 'node:path';
import type { Context } from '../http/request.js';
import { DrupeError, NotFound } from '../lib/errors.js';
import { serveFile } from '../body/file.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { compileMatch, contentTypes, typeFor } from './static-options.js';

export interface StaticfileOptions {
  filename: string;
  root: string;
  match: string;
  content_types: Readonly<Record<string, string>>;
}

/** The options worked out once per route: `match` compiled, the file's Content-Type override looked up. */
interface Staticfile {
  readonly filename: string;
  readonly root: string;
  readonly match: RegExp | null;
  readonly contentType: string | undefined;
}

/**
 * CherryPy's `tools.staticfile`: answer a path with one file (`filename`,
 * relative to `root`, default the working directory). GET and HEAD only; a
 * missing file falls through to the handler (a 404 when there is none).
 *
 * @example
 *   new App(root, { '/favicon.ico': { 'tools.staticfile.on': true, 'tools.staticfile.filename': 'public/favicon.ico' } });
 */
export const staticfile: ToolBehaviour<StaticfileOptions, Staticfile> = {
  defaults: { filename: '', root: '', match: '', content_types: {} },
  prepare(o) {
    for (const option of ['filename', 'root'] as const) {
      if (o[option].includes('\0')) throw optionError('staticfile', option, 'a path without NUL bytes', o[option]);
    }
    return {
      filename: o.filename,
      root: o.root,
      match: compileMatch('staticfile', o.match),
      contentType: typeFor(contentTypes('staticfile', o.content_types), o.filename),
    };
  },
  async run(ctx: Context, o) {
    const { request, response } = ctx;
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (o.filename === '') throw new DrupeError('DRUPE_ERR_TOOL', 'tools.staticfile is on but tools.staticfile.filename is not set');
    if (o.match !== null && !o.match.test(request.path)) return;
    try {
      response.body = await serveFile(resolve(o.root === '' ? process.cwd() : o.root, o.filename), o.contentType === undefined ? {} : { contentType: o.contentType });
    } catch (err) {
      if (err instanceof NotFound) return;
      throw err;
    }
    request.handler = null;
  },
};
