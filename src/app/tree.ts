import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, hostOf } from './app.js';
import type { Config } from '../core/config.js';
import { urlOf, type FetchInfo } from './fetch.js';
import { injector, type Inject } from './inject.js';
import { parseTarget } from '../http/target.js';
import { DrupeError } from '../lib/errors.js';

/** One segment of a script name: RFC 3986 path characters, no percent-escapes, not '.' or '..'. */
const SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;

/**
 * Several apps on one server, each under its own path prefix (CherryPy's
 * `cherrypy.tree`): `serve(tree)` routes a request to the app mounted at
 * the longest script name that is a whole-segment prefix of its path
 * (`/blog` takes `/blog` and `/blog/x`, never `/blogger`); a path no app
 * takes gets a plain 404. Inside an app, `request.path` is the path below
 * the mount point (CherryPy's `path_info`) and `request.scriptName` the
 * mount point itself, so the app's sections, dispatch and
 * InternalRedirects are its own, while `request.url()`, relative
 * redirects, trailing-slash and staticdir redirects and error pages name
 * the full path. The server-wide config given to `serve()` applies to
 * every app. An App is served at one script name at a time.
 *
 * @example
 *   const tree = new Tree()
 *     .mount(new App(new Site()), '')
 *     .mount(new Blog(), '/blog', { '/': { 'tools.gzip.on': true } });
 *   await serve(tree, { port: 8080 });
 *   Bun.serve({ fetch: tree.fetch });   // or inside another runtime's server
 */
export class Tree {
  readonly #apps = new Map<string, App>();
  /** The mounts longest script name first, as a request is matched; rebuilt after a mount. */
  #sorted: Mounted[] | undefined;

  /**
   * The web-standard handler of the whole tree, as `app.fetch` is of one
   * app: the app mounted at the longest script name that is a whole-segment
   * prefix of the URL's path answers through its own `fetch`, with
   * `request.scriptName` the mount point; a path no app takes gets a plain
   * 404. Bound, so it can be handed over bare. Call `configure()` first for
   * the server-wide config. See docs/protocols.md, "Other runtimes".
   *
   * @example
   *   Deno.serve(tree.fetch);
   */
  readonly fetch = (request: globalThis.Request, info?: FetchInfo): Promise<globalThis.Response> => treeFetch(this.#mounts(), request, info);

  /**
   * A request through the whole tree with no socket, as `app.inject` is
   * through one app: the mount that takes the path answers (a plain 404
   * when none does). Bound. See docs/testing.md.
   */
  readonly inject: Inject = injector((req, res) => this.#injectListener()(req, res), this.fetch);
  /** The listener `inject` runs an exchange through: the tree's routing over each app's pipeline; rebuilt after a mount or configure. */
  #injecting: Listener | undefined;

  /**
   * Mount an App (or a root object and its sections, made into an App) at a
   * script name: '' (or '/') for the site's root, else '/name' or
   * '/a/b' — a leading '/', no trailing '/', no empty, '.' or '..'
   * segment, no percent-escape. A name taken twice, an app mounted twice or
   * a malformed name throws DRUPE_ERR_CONFIG_VALUE.
   */
  mount(app: App, scriptName: string): this;
  mount(root: object, scriptName: string, sections?: Readonly<Record<string, Config>>): this;
  mount(target: object, scriptName: string, sections?: Readonly<Record<string, Config>>): this {
    const name = checkScriptName(scriptName);
    if (this.#apps.has(name)) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tree.mount(…, ${JSON.stringify(scriptName)}): an app is already mounted at '${name || '/'}'`);
    let app: App;
    if (target instanceof App) {
      if (sections !== undefined) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tree.mount(app, ${JSON.stringify(scriptName)}, sections): an App has its sections already; give them to new App(root, sections)`);
      app = target;
    } else {
      app = new App(target, sections);
    }
    for (const [at, mounted] of this.#apps) {
      if (mounted === app) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tree.mount(app, ${JSON.stringify(scriptName)}): this app is already mounted at '${at || '/'}'`);
    }
    this.#apps.set(name, app);
    // The app's requests carry the mount point, under serve() and fetch alike (serve() sets it again).
    hostOf(app).scriptName = name;
    this.#sorted = undefined;
    this.#injecting = undefined;
    return this;
  }

  /**
   * Bind the server-wide config to every mounted app, as `serve()` does
   * (`App.configure`): needed before `fetch` for keys such as
   * `environment` and `log.*`.
   */
  configure(global: Config = {}): void {
    for (const app of this.#apps.values()) app.configure(global);
    this.#injecting = undefined;
  }

  #injectListener(): Listener {
    if (this.#injecting !== undefined) return this.#injecting;
    const sorted = this.#mounts();
    if (sorted.length === 0) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tree.inject: the tree has no app mounted (tree.mount(app, scriptName))');
    const mounts = sorted.map(({ scriptName, app }): Mount => {
      const host = hostOf(app);
      return { scriptName, listener: (req, res) => host.runExchange(req, res) };
    });
    return (this.#injecting = treeListener(mounts, hostOf(sorted[0]!.app).serverHeader, () => false));
  }

  #mounts(): readonly Mounted[] {
    return (this.#sorted ??= sortMounts([...this.#apps].map(([scriptName, app]) => ({ scriptName, app }))));
  }

  /** The mounted apps by script name ('' for the root). */
  get apps(): ReadonlyMap<string, App> {
    return this.#apps;
  }
}

/** A script name as Drupe keeps it ('' for the root), or DRUPE_ERR_CONFIG_VALUE saying what is wrong. */
export function checkScriptName(scriptName: string): string {
  if (typeof scriptName !== 'string') throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'A script name must be a string such as \'/blog\' (\'\' for the root)');
  if (scriptName === '' || scriptName === '/') return '';
  const bad = (why: string): DrupeError => new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Script name ${JSON.stringify(scriptName)}: ${why} (e.g. '/blog', or '' for the root)`);
  if (!scriptName.startsWith('/')) throw bad("it must start with '/'");
  if (scriptName.endsWith('/')) throw bad("it must not end with '/'");
  for (const segment of scriptName.slice(1).split('/')) {
    if (segment === '') throw bad('it has an empty segment');
    if (segment === '.' || segment === '..') throw bad(`it has a '${segment}' segment`);
    if (!SEGMENT.test(segment)) throw bad('a segment holds a character other than letters, digits and -._~!$&\'()*+,;=:@ (no percent-escapes)');
  }
  return scriptName;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export interface Mount {
  readonly scriptName: string;
  readonly listener: Listener;
}

/** An app and the script name it is mounted at. */
interface Mounted {
  readonly scriptName: string;
  readonly app: App;
}

/** Mounts ordered as a request is matched: longest script name first. */
function sortMounts<M extends { readonly scriptName: string }>(mounts: M[]): M[] {
  return mounts.sort((a, b) => b.scriptName.length - a.scriptName.length);
}

/**
 * The mount that takes `path` (a path, no query): the first, in longest-first order, whose
 * script name is '' or a whole-segment prefix of the path (`/blog` takes `/blog` and
 * `/blog/x`, never `/blogger`).
 */
function mountFor<M extends { readonly scriptName: string }>(sorted: readonly M[], path: string): M | undefined {
  for (const m of sorted) {
    const name = m.scriptName;
    if (name === '') return m;
    if (path.startsWith(name)) {
      const next = path.charCodeAt(name.length);
      // A whole-segment prefix: the path ends there, or goes on with '/', '?' or '#'.
      if (Number.isNaN(next) || next === 47 || next === 63 || next === 35) return m;
    }
  }
  return undefined;
}

/**
 * The node listener of a tree: one prefix match per mount, longest script
 * name first (`mounts` is sorted so). `closing` says the server is
 * shutting down (a plain answer then closes its connection too).
 */
export function treeListener(mounts: readonly Mount[], serverHeader: string, closing: () => boolean): Listener {
  const root = mounts.find((m) => m.scriptName === '');
  return (req, res) => {
    const url = req.url ?? '/';
    let path = url;
    if (url.charCodeAt(0) !== 47 /* / */) {
      try {
        path = parseTarget(url).path;
      } catch {
        // A malformed target: the root app answers it (a 400) as it would alone.
        if (root !== undefined) root.listener(req, res);
        else plain(req, res, 400, 'Bad Request', serverHeader, true);
        return;
      }
    }
    const m = mountFor(mounts, path);
    if (m !== undefined) m.listener(req, res);
    else plain(req, res, 404, 'Not Found', serverHeader, closing());
  };
}

/** The answer for a path no app takes: a few bytes, the connection closed if a body was sent (nobody reads it). */
function plain(req: IncomingMessage, res: ServerResponse, status: number, reason: string, serverHeader: string, close: boolean): void {
  const body = `${reason}\n`;
  const sentBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  const headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=utf-8', 'Content-Length': String(body.length) };
  if (serverHeader !== '') headers.Server = serverHeader;
  if (close || sentBody) headers.Connection = 'close';
  res.writeHead(status, reason, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * `tree.fetch`: the app whose mount takes the URL's path answers through its own `fetch` (its
 * host strips the script name, as under serve()); a path no app takes gets a plain 404, and a
 * URL that cannot be read goes to the root app, as on node:http, or gets a plain 400.
 */
function treeFetch(sorted: readonly Mounted[], request: globalThis.Request, info: FetchInfo | undefined): Promise<globalThis.Response> {
  if (sorted.length === 0) return Promise.reject(new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tree.fetch: the tree has no app mounted (tree.mount(app, scriptName))'));
  let path: string;
  try {
    path = urlOf(request).pathname;
  } catch {
    const root = sorted.find((m) => m.scriptName === '');
    return root !== undefined ? root.app.fetch(request, info) : Promise.resolve(plainResponse(request, 400, 'Bad Request', hostOf(sorted[0]!.app).serverHeader));
  }
  const m = mountFor(sorted, path);
  return m !== undefined ? m.app.fetch(request, info) : Promise.resolve(plainResponse(request, 404, 'Not Found', hostOf(sorted[0]!.app).serverHeader));
}

/** A few bytes of plain text: what `plain` sends on node:http, as a web Response. */
function plainResponse(request: globalThis.Request, status: number, reason: string, serverHeader: string): globalThis.Response {
  const body = `${reason}\n`;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=utf-8', 'Content-Length': String(body.length) };
  if (serverHeader !== '') headers.Server = serverHeader;
  return new Response(request.method === 'HEAD' ? null : body, { status, statusText: reason, headers });
}
