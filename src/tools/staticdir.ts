import { readlinkSync, type Stats } from 'node:fs';
import { realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Context } from '../http/request.js';
import { DrupeError, HTTPError, HTTPRedirect, NotFound } from '../lib/errors.js';
import { errCode, openedFileBody, openForReading } from '../body/file.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { compileMatch, contentTypes, typeFor } from './static-options.js';

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

function missing(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
}

function denied(err: unknown): boolean {
  const code = errCode(err);
  return code === 'EACCES' || code === 'EPERM';
}

async function realOrNull(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch (err) {
    if (missing(err)) return null;
    if (denied(err)) throw forbidden();
    throw err;
  }
}

/**
 * The served directory's real path, looked up again at most once a second
 * (it is on every request's way; a deploy that swaps a symlinked directory
 * is seen within that second). Keyed by the options, not the resolved path,
 * so a hit costs no path arithmetic.
 */
const dirs = new Map<string, { real: string | null; until: number }>();
const DIR_TTL_MS = 1000;

async function realDir(root: string, dir: string): Promise<string | null> {
  const key = root + '\0' + dir;
  const now = Date.now();
  const hit = dirs.get(key);
  if (hit !== undefined && hit.until > now) return hit.real;
  const real = await realOrNull(resolve(root === '' ? process.cwd() : root, dir));
  if (dirs.size >= 1000) dirs.clear();
  dirs.set(key, { real, until: now + DIR_TTL_MS });
  return real;
}

/**
 * Where an open descriptor's file really is. On Linux, /proc names the file
 * that was opened, so a symlink swapped between a check and the open cannot
 * slip a file from outside in; read synchronously, as procfs answers from
 * memory. Elsewhere, realpath of the name (checked after the open).
 */
let procFds = process.platform === 'linux';

async function openedPath(fh: FileHandle, path: string): Promise<string | null> {
  if (procFds) {
    try {
      return readlinkSync(`/proc/self/fd/${fh.fd}`);
    } catch {
      procFds = false;
    }
  }
  return realOrNull(path);
}

export interface StaticdirOptions {
  dir: string;
  root: string;
  index: string;
  match: string;
  content_types: Readonly<Record<string, string>>;
  dotfiles: boolean;
  follow_symlinks: boolean;
  section: string;
}

/** The options worked out once per route: `match` compiled, `content_types` by extension, the section's path. */
interface Staticdir {
  readonly dir: string;
  readonly root: string;
  readonly index: string;
  readonly match: RegExp | null;
  readonly types: ReadonlyMap<string, string>;
  readonly dotfiles: boolean;
  readonly follow_symlinks: boolean;
  readonly section: string;
}

/** An opened file or directory (no descriptor: a directory we may search but not read). */
interface Found {
  fh: FileHandle | null;
  st: Stats;
}

/** Refuse a real path outside the directory, or with a dotfile on the way (unless allowed). */
function checkReal(real: string, dirReal: string, o: Staticdir): void {
  if (o.follow_symlinks) return;
  if (!inside(real, dirReal)) throw new NotFound();
  if (!o.dotfiles && real !== dirReal && real.slice(dirReal.length).split(sep).some((s) => s.startsWith('.'))) throw new NotFound();
}

/**
 * Open what `path` names and check where it really is — inside the
 * directory after resolving symlinks (unless `follow_symlinks`), no
 * dotfile on the way (unless `dotfiles`) — before anything is read from
 * it. Null when there is no such file or directory.
 */
async function openInside(dirReal: string, path: string, o: Staticdir): Promise<Found | null> {
  let fh: FileHandle;
  try {
    fh = await openForReading(path);
  } catch (err) {
    if (missing(err)) return null;
    if (denied(err)) return searchOnly(dirReal, path, o);
    throw err;
  }
  try {
    if (!o.follow_symlinks) {
      const real = await openedPath(fh, path);
      if (real === null) {
        await fh.close();
        return null;
      }
      checkReal(real, dirReal, o);
    }
    return { fh, st: await fh.stat() };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** A path we may not open: a directory we may still search (for its index), or a 403. */
async function searchOnly(dirReal: string, path: string, o: Staticdir): Promise<Found | null> {
  const real = await realOrNull(path);
  if (real === null) return null;
  checkReal(real, dirReal, o);
  const st = await stat(real).catch(() => null);
  if (st === null) return null;
  if (!st.isDirectory()) throw forbidden();
  return { fh: null, st };
}

async function release(found: Found): Promise<void> {
  await found.fh?.close().catch(() => undefined);
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
export const staticdir: ToolBehaviour<StaticdirOptions, Staticdir> = {
  defaults: { dir: '', root: '', index: '', match: '', content_types: {}, dotfiles: false, follow_symlinks: false, section: '' },
  prepare(o) {
    for (const option of ['dir', 'root', 'index'] as const) {
      if (o[option].includes('\0')) throw optionError('staticdir', option, 'a path without NUL bytes', o[option]);
    }
    return {
      dir: o.dir,
      root: o.root,
      index: o.index,
      match: compileMatch('staticdir', o.match),
      types: contentTypes('staticdir', o.content_types),
      dotfiles: o.dotfiles,
      follow_symlinks: o.follow_symlinks,
      section: o.section === '' ? '/' : o.section,
    };
  },
  async run(ctx: Context, o) {
    const { request, response } = ctx;
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (o.dir === '') throw new DrupeError('DRUPE_ERR_TOOL', "tools.staticdir is on but tools.staticdir.dir is not set");
    if (o.match !== null && !o.match.test(request.path)) return;
    const rest = remainder(request.path, o.section);
    if (rest === null) return;
    if (!o.dotfiles && rest.some((s) => s.startsWith('.'))) throw new NotFound();
    const dirReal = await realDir(o.root, o.dir);
    if (dirReal === null) return;
    let path = rest.length === 0 ? dirReal : join(dirReal, ...rest);
    let found = await openInside(dirReal, path, o);
    if (found === null) return;
    const slash = request.path.endsWith('/');
    let name = rest[rest.length - 1] ?? '';
    if (found.st.isDirectory()) {
      await release(found);
      if (o.index === '') return;
      path = join(path, o.index);
      found = await openInside(dirReal, path, o);
      if (found === null) return;
      if (found.fh === null || !found.st.isFile()) return release(found);
      if (!slash) {
        await release(found);
        throw new HTTPRedirect(request.scriptName + request.path + '/' + (request.queryString === '' ? '' : '?' + request.queryString), 301);
      }
      name = o.index;
    } else if (slash || found.fh === null || !found.st.isFile()) {
      return release(found);
    }
    const contentType = typeFor(o.types, name);
    response.body = openedFileBody(path, found.fh, found.st, contentType === undefined ? {} : { contentType });
    request.handler = null;
  },
};
