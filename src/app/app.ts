import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkToolOptions, defaultEnvironment, environmentDefaults, validateConfig, type Config } from '../core/config.js';
import { ObjectDispatcher } from '../core/dispatch.js';
import { DrupeError } from '../lib/errors.js';
import { declaredInput, handlerConfig, isExposed, nodeConfig } from '../core/expose.js';
import { sectionSegment, type PlanSource } from '../core/plan.js';
import { plainMembers, TREE_MAX_DEPTH, TREE_MAX_NODES } from '../core/tree-members.js';
import { AppHost } from './host.js';
import { fetchThrough, type FetchInfo } from './fetch.js';
import { injector, type Inject } from './inject.js';
import { defineTool } from '../core/tool.js';
import { builtinTools } from '../tools/index.js';
import { provideOpenAPI } from '../tools/openapi.js';
import { openapiDocument, type OpenAPIDocument, type OpenAPIOptions } from '../core/openapi.js';

// The built-in tools take their names before any user tool can.
for (const tool of builtinTools) defineTool(tool);

/** Config every app starts from, under the environment's and the user's. */
const BASE: Config = { 'tools.trailing_slash.on': true };
let hostOfApp!: (app: App) => AppHost;

/**
 * An application: an object tree plus config sections keyed by path.
 * All config is checked here, at start-up, so a misspelled key fails
 * before the first request.
 *
 * @example
 *   const app = new App(new Root(), { '/': { 'tools.gzip.on': true }, '/admin': { 'request.show_tracebacks': false } });
 *   await serve(app, { port: 8080 });
 */
export class App {
  readonly root: object;
  readonly #sections = new Map<string, Config>();
  /** Every config below the global one, with where it was given: its tool options are checked again over the global config. */
  readonly #configs: ConfigSource[] = [];
  readonly #host: AppHost;
  /** What plans are built from (root, sections, the merged global config): the OpenAPI document reads the tree through it too. */
  #source: PlanSource;
  /** The node listener: `http.createServer(app.listener)` works too (call `configure()` first). */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The web-standard handler (Bun, Deno, edge runtimes, a service worker):
   * the same pipeline as `listener`, answering a web `Request` with a web
   * `Response` resolved at commit; a streamed body is a ReadableStream
   * pulled as it is read. Bound, so it can be handed over bare. `info`:
   * the client's address (`FetchInfo`). Call `configure()` first for
   * server-wide config. See docs/protocols.md, "Other runtimes".
   *
   * @example
   *   export default { fetch: app.fetch };   // Bun, Deno, workers
   */
  readonly fetch: (request: globalThis.Request, info?: FetchInfo) => Promise<globalThis.Response>;

  /**
   * A request through this app's whole pipeline with no socket, for tests
   * and tools: `inject({ method, url, headers, body })` answers status,
   * headers, body, the body's chunks as written and whether it completed;
   * `inject(url | Request, init?)` answers a web `Response`, as `app.fetch`
   * does. Bound. Call `configure()` first for server-wide config (quiet
   * logs: `'log.screen': false`). See docs/testing.md.
   *
   * @example
   *   const res = await app.inject({ method: 'POST', url: '/items', body: { name: 'x' } });
   *   assert.equal(res.status, 201);
   */
  readonly inject: Inject;

  static {
    hostOfApp = (app) => app.#host;
  }

  constructor(root: object, sections: Readonly<Record<string, Config>> = {}) {
    if (typeof root !== 'object' || root === null) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'App needs a root object');
    this.root = root;
    for (const [path, config] of Object.entries(sections)) {
      if (!path.startsWith('/')) throw new DrupeError('DRUPE_ERR_CONFIG_KEY', `Section '${path}' must be a path starting with '/'`);
      validateConfig(config as Record<string, unknown>, `section '${path}'`, 'local');
      this.#configs.push({ config: config as Record<string, unknown>, where: `section '${path}'` });
      this.#sections.set(normalizeSection(path), { ...this.#sections.get(normalizeSection(path)), ...config });
    }
    validateTree(root, this.#configs);
    this.#source = this.#makeSource({});
    this.#host = new AppHost(this.#source);
    provideOpenAPI(this.#host, (options) => this.openapi(options));
    this.listener = this.#host.listener;
    this.fetch = (request, info) => fetchThrough(this.#host, request, info);
    const host = this.#host;
    this.inject = injector((req, res) => host.runExchange(req, res), this.fetch);
  }

  /**
   * Bind the server-wide config (`serve` calls this): environment defaults,
   * then the given keys. Resets cached plans.
   */
  configure(global: Config = {}): void {
    validateConfig(global as Record<string, unknown>, 'global config', 'global');
    for (const { config, where } of this.#configs) checkToolOptions(config, where, global as Record<string, unknown>);
    this.#source = this.#makeSource(global);
    this.#host.reset(this.#source);
  }

  /**
   * The OpenAPI 3.1 document of the tree, as a plain object: each exposed
   * handler and MethodDispatcher resource a request can reach is a path
   * (below the app's mount point), with its declared `params`, `body` and
   * `args` as parameters and request body (JSON Schema through Standard
   * JSON Schema, or `options.jsonSchema`), its errors as problem+json.
   * `tools.openapi` serves it. See docs/openapi.md.
   *
   * @example
   *   writeFileSync('openapi.json', JSON.stringify(app.openapi({ title: 'Shop', version: '2.1.0' }), null, 2));
   */
  openapi(options: OpenAPIOptions = {}): OpenAPIDocument {
    return openapiDocument(this.#source, this.#host.scriptName, options, declaredInput);
  }

  #makeSource(global: Config): PlanSource {
    const env = global.environment ?? defaultEnvironment();
    const base = Object.freeze({ ...BASE, ...environmentDefaults(env), ...global, environment: env });
    return { root: this.root, base, sections: this.#sections, defaultDispatcher: new ObjectDispatcher() };
  }

  /** The merged server-wide config. */
  get globalConfig(): Readonly<Config> {
    return this.#host.globalConfig;
  }
}

/** The app's host: what `serve()` drives (closing, streams, logs). Not part of the public API. */
export function hostOf(app: App): AppHost {
  return hostOfApp(app);
}

/** A section's key, spelled the way `sectionKeys` spells request paths. */
function normalizeSection(path: string): string {
  const segments = path.split('/').filter((s) => s !== '').map((s) => {
    try {
      return sectionSegment(decodeURIComponent(s));
    } catch {
      return sectionSegment(s);
    }
  });
  return '/' + segments.join('/');
}

interface ConfigSource {
  readonly config: Readonly<Record<string, unknown>>;
  readonly where: string;
}

/** Check every `_cp_config` and handler config in the tree at start-up; each one is added to `found`. */
function validateTree(root: object, found: ConfigSource[]): void {
  const check = (config: Readonly<Record<string, unknown>>, where: string): void => {
    validateConfig(config, where, 'local');
    found.push({ config, where });
  };
  const seen = new Set<object>();
  const visit = (node: object, path: string, depth: number): void => {
    if (seen.has(node) || depth > TREE_MAX_DEPTH || seen.size > TREE_MAX_NODES) return;
    seen.add(node);
    const cfg = nodeConfig(node);
    if (cfg !== undefined) check(cfg as Record<string, unknown>, `_cp_config of ${path}`);
    for (const [name, v] of plainMembers(node)) { // never runs getters at start-up
      if (isExposed(v)) {
        const hc = handlerConfig(v);
        if (hc !== undefined) check(hc as Record<string, unknown>, `the config of handler ${path === '/' ? '' : path}/${name}`);
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        visit(v, `${path === '/' ? '' : path}/${name}`, depth + 1);
      }
    }
  };
  visit(root, '/', 0);
}
