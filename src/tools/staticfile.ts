import { resolve } from 'node:path';
import type { Context } from '../http/request.js';
import { DrupeError, NotFound } from '../lib/errors.js';
import { serveFile } from '../body/file.js';
import { defineTool } from '../core/tool.js';
import { matches, typeOverride } from './staticdir.js';

interface StaticfileOptions {
  filename: string;
  root: string;
  match: string;
  content_types: Readonly<Record<string, string>>;
}

/**
 * CherryPy's `tools.staticfile`: answer a path with one file (`filename`,
 * relative to `root`, default the working directory). GET and HEAD only; a
 * missing file falls through to the handler (a 404 when there is none).
 *
 * @example
 *   new App(root, { '/favicon.ico': { 'tools.staticfile.on': true, 'tools.staticfile.filename': 'public/favicon.ico' } });
 */
export const staticfile = defineTool<StaticfileOptions>({
  name: 'staticfile',
  point: 'before_handler',
  priority: 50,
  defaults: { filename: '', root: '', match: '', content_types: {} },
  async run(ctx: Context, o) {
    const { request, response } = ctx;
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (o.filename === '') throw new DrupeError('DRUPE_ERR_TOOL', 'tools.staticfile is on but tools.staticfile.filename is not set');
    if (!matches(o.match, request.path)) return;
    const contentType = typeOverride(o.content_types, o.filename);
    try {
      response.body = await serveFile(resolve(o.root === '' ? process.cwd() : o.root, o.filename), contentType === undefined ? {} : { contentType });
    } catch (err) {
      if (err instanceof NotFound) return;
      throw err;
    }
    request.handler = null;
  },
});
