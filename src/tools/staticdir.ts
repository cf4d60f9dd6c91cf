import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { Context } from '../context.js';
import { DrupeError, HTTPError, HTTPRedirect, NotFound } from '../errors.js';
import { serveFile } from '../file.js';
import { defineTool } from '../tool.js';

const patterns = new Map<string, RegExp>();

/** `tools.<name>.match`: a regular expression source, compiled once. */
export function matches(source: string, path: string): boolean {
  if (source === '') return true;
  let re = patterns.get(source);
  if (re === undefined) {
    re = new RegExp(source);
    if (patterns.size < 1000) patterns.set(source, re);
  }
  return re.test(path);
}

/** The Content-Type a `content_types` option gives a file name (keys with or without the dot), if any. */
export function typeOverride(types: Readonly<Record<string, string>>, name: string): string | undefined {
  const ext = extname(name).slice(1).toLowerCase();
  if (ext === '') return undefined;
  const t = Object.hasOwn(types, ext) ? types[ext] : Object.hasOwn(types, '.' + ext) ? types['.' + ext] : undefined;
  return typeof t === 'string' ? t : undefined;
}

function forbidden(): HTTPError {
  return new HTTPError(403, 'Forbidden');
}

/**
 * The request path below the section, as decoded segments — or a 403 for
 * anything that could name a file outside the directory or slip past a
 * guard set on a deeper section: '.', '..', an encoded '/' or '\', a
 * backslash, a NUL byte. Empty segments are dropped, as dispatch drops
 * them (so '//admin' meets the same config as '/admin'). Null: the path is
 * not under the section.
 */
export function remainder(path: string, section: string): string[] | null {
  const segs: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let d: string;
    try {
      d = raw.indexOf('%') < 0 ? raw : decodeURIComponent(raw);
    } catch {
      throw new HTTPError(400, 'Invalid percent-encoding in path');
    }
    segs.push(d);
  }
  const prefix = section.split('/').filter((s) => s !== '');
  for (let i = 0; i < prefix.length; i++) if (segs[i] !== prefix[i]!.replaceAll('%2F', '/')) return null;
  const rest = segs.slice(prefix.length);
  for (const s of rest) {
    if (s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')) throw forbidden();
  }
  return rest;
}

function inside(real: string, dir: string): boolean {
  return real === dir || real.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

async function realOrNull(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') return null;
    if (code === 'EACCES' || code === 'EPERM') throw forbidden();
    throw err;
  }
}

interface StaticdirOptions {
  dir: string;
  root: string;
  index: string;
  match: string;
  content_types: Readonly<Record<string, string>>;
  dotfiles: boolean;
  follow_symlinks: boolean;
  section: string;
}

/**
 * Where the file a request names really is, checked: inside the directory
 * (after resolving symlinks, unless `follow_symlinks`), no dotfile on the
 * way (unless `dotfiles`). Null when there is no such file or directory.
 */
async function locate(dirReal: string, rest: readonly string[], o: StaticdirOptions): Promise<string | null> {
  const real = await realOrNull(join(dirReal, ...rest));
  if (real === null) return null;
  if (!o.follow_symlinks) {
    if (!inside(real, dirReal)) throw new NotFound();
    if (!o.dotfiles && real !== dirReal && real.slice(dirReal.length).split(sep).some((s) => s.startsWith('.'))) throw new NotFound();
  }
  return real;
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

/**
 * CherryPy's `tools.staticdir`: serve the files of a directory under the
 * path section where it is configured (the section's path is stripped:
 * section '/static' with `dir: 'public'` serves /static/a.css from
 * `<root>/public/a.css`). GET and HEAD only; a path with no file falls
 * through to the handler (a 404 when there is none); attempts to leave the
 * directory are refused (403/404) before any file is opened.
 *
 * @example
 *   new App(root, { '/static': { 'tools.staticdir.on': true, 'tools.staticdir.dir': 'public', 'tools.staticdir.index': 'index.html' } });
 */
export const staticdir = defineTool<StaticdirOptions>({
  name: 'staticdir',
  point: 'before_handler',
  priority: 50,
  defaults: { dir: '', root: '', index: '', match: '', content_types: {}, dotfiles: false, follow_symlinks: false, section: '' },
  async run(ctx: Context, o) {
    const { request, response } = ctx;
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (o.dir === '') throw new DrupeError('DRUPE_ERR_TOOL', "tools.staticdir is on but tools.staticdir.dir is not set");
    if (!matches(o.match, request.path)) return;
    const rest = remainder(request.path, o.section === '' ? '/' : o.section);
    if (rest === null) return;
    if (!o.dotfiles && rest.some((s) => s.startsWith('.'))) throw new NotFound();
    const dirReal = await realOrNull(resolve(o.root === '' ? process.cwd() : o.root, o.dir));
    if (dirReal === null) return;
    const real = await locate(dirReal, rest, o);
    if (real === null) return;
    const st = await statOrNull(real);
    if (st === null) return;
    const slash = request.path.endsWith('/');
    let file = real;
    let name = rest[rest.length - 1] ?? '';
    if (st.isDirectory()) {
      if (o.index === '') return;
      const index = await locate(dirReal, [...rest, o.index], o);
      if (index === null || !(await statOrNull(index))?.isFile()) return;
      if (!slash) throw new HTTPRedirect(request.path + '/' + (request.queryString === '' ? '' : '?' + request.queryString), 301);
      file = index;
      name = o.index;
    } else if (slash || !st.isFile()) {
      return;
    }
    const contentType = typeOverride(o.content_types, name);
    response.body = await serveFile(file, contentType === undefined ? {} : { contentType });
    request.handler = null;
  },
});
