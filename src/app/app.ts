import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { checkToolOptions, DEFAULT_SERVER_HEADER, defaultEnvironment, environmentDefaults, validateConfig, type Config } from '../core/config.js';
import type { RequestContext } from '../core/request-context.js';
import { ObjectDispatcher } from '../core/dispatch.js';
import { DrupeError } from '../lib/errors.js';
import { handlerConfig, isExposed, nodeConfig } from '../core/expose.js';
import { pathSegments } from '../http/target.js';
import { Logger } from '../core/log.js';
import { handle, type PipelineHost } from '../core/lifecycle.js';
import { planFor, sectionSegment, type Plan, type PlanSource } from '../core/plan.js';
import type { Request } from '../http/request.js';
import { defineTool } from '../core/tool.js';
import { builtinTools } from '../tools/index.js';

// The built-in tools take their names before any user tool can.
for (const tool of builtinTools) defineTool(tool);

/** Config every app starts from, under the environment's and the user's. */
const BASE: Config = { 'tools.trailing_slash.on': true };
/** How many paths keep their plan; past it the oldest is dropped (a `default` handler sees unbounded paths). */
const PLAN_CACHE_SIZE = 10_000;

/**
 * An application: an object tree plus config sections keyed by path.
 * All config is checked here, at start-up, so a misspelled key fails
 * before the first request.
 *
 * @example
 *   const app = new App(new Root(), { '/': { 'tools.gzip.on': true }, '/admin': { 'request.show_tracebacks': false } });
 *   await serve(app, { port: 8080 });
 */
export class App implements PipelineHost {
  readonly root: object;
  readonly #sections = new Map<string, Config>();
  readonly #plans = new Map<string, Plan>();
  /** Every config below the global one, with where it was given: its tool options are checked again over the global config. */
  readonly #configs: ConfigSource[] = [];
  /** Per connection, the last response queued behind another (see #enqueue). */
  readonly #queueTail = new WeakMap<Socket, ServerResponse>();
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #source: PlanSource;
  #logger: Logger;
  readonly idPrefix = randomBytes(3).toString('hex');
  #idCounter = 0;
  closing = false;
  readonly streams = new Set<RequestContext>();
  fallbackHost = 'localhost';
  serverHeader = DEFAULT_SERVER_HEADER;
  /** The node listener: `http.createServer(app.listener)` works too. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;

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
    this.#logger = new Logger({ screen: true });
    this.listener = (req, res) => this.#enqueue(req, res);
  }

  /**
   * Pipelined requests on one connection run one at a time: the next starts
   * once the previous response has gone to the socket. Node parses every
   * request in a packet at once; without this, one packet of small requests
   * would hold all their buffered answers in memory (HOSTILE 23). The usual
   * case — nothing ahead on the connection — costs one property read.
   */
  #enqueue(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    // node gives the socket to a response at once unless another is still being written there.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current === res) {
      this.#run(req, res);
      return;
    }
    const ahead = this.#queueTail.get(socket) ?? current;
    if (ahead === undefined || ahead === null || ahead.destroyed) {
      this.#run(req, res);
      return;
    }
    this.#queueTail.set(socket, res);
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      ahead.off('finish', start);
      ahead.off('close', start);
      if (this.#queueTail.get(socket) === res) this.#queueTail.delete(socket);
      this.#run(req, res);
    };
    ahead.once('finish', start);
    ahead.once('close', start);
  }

  #run(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight++;
    let pending: void | Promise<void>;
    try {
      pending = handle(this, req, res);
    } catch (err) {
      this.#failed(err, res);
      return;
    }
    if (pending) pending.then(this.#finished, (err: unknown) => this.#failed(err, res));
    else this.#finished();
  }

  /** The pipeline answers every error itself; reaching here is a bug in Drupe: log it, never crash. */
  #failed(err: unknown, res: ServerResponse): void {
    this.logError('Handling a request failed', err);
    res.destroy();
    this.#finished();
  }

  readonly #finished = (): void => {
    if (--this.#inFlight === 0 && this.#idle !== undefined) {
      const resolve = this.#idle;
      this.#idle = undefined;
      resolve();
    }
  };

  /** Resolves once no request is being handled (the server's close() bounds the wait). */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.#idle;
      this.#idle = () => { before?.(); resolve(); };
    });
  }

  /**
   * Bind the server-wide config (`serve` calls this): environment defaults,
   * then the given keys. Resets cached plans.
   */
  configure(global: Config = {}): void {
    validateConfig(global as Record<string, unknown>, 'global config', 'global');
    for (const { config, where } of this.#configs) checkToolOptions(config, where, global as Record<string, unknown>);
    this.#source = this.#makeSource(global);
    this.#plans.clear();
    const base = this.#source.base;
    void this.#logger.close();
    this.#logger = new Logger({ screen: base['log.screen'] ?? true, accessFile: base['log.access_file'], errorFile: base['log.error_file'] });
  }

  #makeSource(global: Config): PlanSource {
    const env = global.environment ?? defaultEnvironment();
    const base = Object.freeze({ ...BASE, ...environmentDefaults(env), ...global, environment: env });
    this.serverHeader = base['response.headers.server'] ?? DEFAULT_SERVER_HEADER;
    return { root: this.root, base, sections: this.#sections, defaultDispatcher: new ObjectDispatcher() };
  }

  /** The merged server-wide config. */
  get globalConfig(): Readonly<Config> {
    return this.#source.base;
  }

  /** Internal: the plan for a request's path, built once and cached. */
  plan(request: Request): Plan {
    const path = request.path;
    const cached = this.#plans.get(path);
    if (cached !== undefined) return cached;
    const segments = pathSegments(path);
    const { plan, cacheable } = planFor(this.#source, path, segments);
    if (cacheable) {
      if (this.#plans.size >= PLAN_CACHE_SIZE) this.#plans.delete(this.#plans.keys().next().value!);
      this.#plans.set(path, plan);
    }
    return plan;
  }

  nextId(): number {
    return ++this.#idCounter;
  }

  get accessLog(): boolean {
    return this.#logger.accessEnabled;
  }

  logAccess(line: string): void {
    this.#logger.access(line);
  }

  logError(message: string, err: unknown, requestId?: string): void {
    this.#logger.error(message, err, requestId);
  }

  /** Flush and close the log files. */
  async closeLogs(): Promise<void> {
    await this.#logger.close();
  }
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
    if (seen.has(node) || depth > 32 || seen.size > 10_000) return;
    seen.add(node);
    const cfg = nodeConfig(node);
    if (cfg !== undefined) check(cfg as Record<string, unknown>, `_cp_config of ${path}`);
    for (const name of memberNames(node)) {
      const desc = findDescriptor(node, name);
      if (desc === undefined || !('value' in desc)) continue; // never run getters at start-up
      const v: unknown = desc.value;
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

function memberNames(node: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = node; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== 'constructor' && !n.startsWith('_')) names.add(n);
  }
  return names;
}

function findDescriptor(node: object, name: string): PropertyDescriptor | undefined {
  for (let o: object | null = node; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d !== undefined) return d;
  }
  return undefined;
}
