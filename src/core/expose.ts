import { DrupeError } from '../lib/errors.js';
import type { StandardSchemaV1 } from '../lib/standard-schema.js';
import type { Config } from './config.js';
import type { Context, Handler, InputDeclaration } from '../http/request.js';
import { websocketEndpoint, type WebSocketHandler } from './websocket.js';

export type { Handler, InputDeclaration } from '../http/request.js';

const exposedHandlers = new WeakMap<Function, Config>();
/** The schemas a handler declared (`params`, `body`, `args`), kept apart from its config. */
const declarations = new WeakMap<Function, InputDeclaration>();

/** The keys of `exposed(fn, { … })` / `@expose({ … })` that declare input rather than config. */
const INPUT_KEYS = ['params', 'body', 'args'] as const;

/** A handler whose context is typed by declaration `D`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DeclaredHandler<D extends InputDeclaration> = (this: any, ctx: Context<D>) => unknown;

/** What `exposed`/`@expose` take: handler config (dotted keys), plus the declared input's schemas. */
export type ExposeConfig<D extends InputDeclaration = {}> = Config & D;

/** A class `@expose` can mark: any class (its instances are nodes of the tree). */
type AnyClass = abstract new (...args: never) => unknown;

/** What `expose(config)` returns: a decorator for a method (whose context is typed by `D`) or a class. */
export interface ExposeDecorator<D extends InputDeclaration = {}> {
  <F extends DeclaredHandler<D>>(fn: F, context: ClassMethodDecoratorContext): void;
  <C extends AnyClass>(cls: C, context: ClassDecoratorContext<C>): void;
}

/**
 * Mark a method as a page handler, with optional handler config (the deepest
 * level of config, above the class's and the path sections'). Written with
 * or without parentheses, as in CherryPy. On a class, it exposes the class's
 * own public methods (every name not starting with `_`, not `constructor`);
 * config for a whole class goes in `static _cp_config`, so `@expose(config)`
 * on a class with a non-empty config is refused.
 *
 * @example
 *   class Root {
 *     @expose index() { return 'Hello'; }
 *     @expose({ 'response.stream': true }) *feed() { yield 'a'; yield 'b'; }
 *   }
 *   @expose class Api { list() { return '[]'; } _helper() {} }
 */
export function expose<F extends Handler>(fn: F, context: ClassMethodDecoratorContext): void;
export function expose<C extends AnyClass>(cls: C, context: ClassDecoratorContext<C>): void;
export function expose<const D extends InputDeclaration = {}>(config?: ExposeConfig<D>): ExposeDecorator<D>;
export function expose(first?: ExposeConfig | Function, context?: unknown): ExposeDecorator | void {
  if (typeof first === 'function') return decorate(first, context, {}, undefined);
  // A legacy (experimentalDecorators) `@expose` passes (prototype, name, descriptor): say so instead of exposing nothing.
  if (context !== undefined) throw legacyDecorators(context);
  const [config, input] = splitDeclaration(first ?? {}, '@expose');
  return ((target: Function, ctx: unknown) => decorate(target, ctx, config, input)) as ExposeDecorator;
}

function decorate(target: Function, context: unknown, config: Config, input: InputDeclaration | undefined): void {
  const kind = typeof context === 'object' && context !== null ? (context as { kind?: unknown }).kind : undefined;
  if (kind === 'method') {
    exposedHandlers.set(target, config);
    if (input !== undefined) declarations.set(target, input);
    return;
  }
  const name = typeof context === 'object' && context !== null ? String((context as { name?: unknown }).name) : target.name;
  if (kind === 'class') {
    if (Object.keys(config).length > 0 || input !== undefined) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `@expose(config) on class ${name}: config for a whole class goes in 'static _cp_config'; write @expose or @expose() on the class to expose its methods`);
    }
    exposeMethods(target);
    return;
  }
  if (kind === undefined) throw legacyDecorators(context);
  throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `@expose on ${String(kind)} ${name}: only methods and classes can be exposed`);
}

function legacyDecorators(context: unknown): DrupeError {
  const member = typeof context === 'string' ? ` on ${context}` : '';
  return new DrupeError('DRUPE_ERR_CONFIG_VALUE', `@expose${member}: Drupe's @expose is a standard decorator; compile without 'experimentalDecorators', or use exposed(fn) instead`);
}

/** CherryPy's `expose` on a class: each public method of its own becomes a handler (one given its own `@expose(config)` keeps it). */
function exposeMethods(cls: Function): void {
  const proto: unknown = cls.prototype;
  if (typeof proto !== 'object' || proto === null) return;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || name.startsWith('_')) continue;
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    // Accessors are not pages (and never run here); only plain methods are exposed.
    if (desc === undefined || !('value' in desc) || typeof desc.value !== 'function') continue;
    if (!exposedHandlers.has(desc.value as Function)) exposedHandlers.set(desc.value as Function, {});
  }
}

/**
 * The same as `@expose()`, without decorators. With `params`, `body` or
 * `args` schemas (docs/validation.md), the handler's context is typed
 * from them: no annotation needed.
 *
 * @example
 *   const root = { index: exposed(() => 'Hello'), feed: exposed(function* () { yield 'a'; }, { 'response.stream': true }) };
 *   const save = exposed(({ body }) => `saved ${body.name}`, { body: z.object({ name: z.string() }) });
 */
export function exposed<const D extends InputDeclaration = {}, F extends DeclaredHandler<D> = DeclaredHandler<D>>(fn: F, config?: ExposeConfig<D>): F {
  const [own, input] = splitDeclaration(config ?? {}, 'exposed');
  exposedHandlers.set(fn, own);
  if (input !== undefined) declarations.set(fn, input);
  return fn;
}

/**
 * The schemas `exposed(fn, { params, body, args })` / `@expose({ … })`
 * declared for a handler, or undefined when it declared none (internal:
 * the lifecycle validates with them, the OpenAPI document describes them).
 */
export function declaredInput(handler: Function): InputDeclaration | undefined {
  return declarations.get(handler);
}

/** `config` without its input keys, and those keys' schemas (checked to be Standard Schemas now, not per request). */
function splitDeclaration(config: ExposeConfig, where: string): [Config, InputDeclaration | undefined] {
  if (!INPUT_KEYS.some((k) => Object.hasOwn(config, k))) return [config, undefined];
  const own: Record<string, unknown> = { ...config };
  const input: Record<string, StandardSchemaV1> = {};
  for (const key of INPUT_KEYS) {
    if (!Object.hasOwn(own, key)) continue;
    const schema = own[key];
    delete own[key];
    if (schema === undefined) continue;
    if (!isStandardSchema(schema)) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `${where}({ ${key} }): expected a Standard Schema (an object with '~standard' version 1 and a validate function, as zod, valibot and arktype schemas are), got ${describeValue(schema)}`);
    }
    input[key] = schema;
  }
  return [own as Config, Object.keys(input).length > 0 ? input : undefined];
}

function isStandardSchema(v: unknown): v is StandardSchemaV1 {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return false;
  const std: unknown = (v as { '~standard'?: unknown })['~standard'];
  return typeof std === 'object' && std !== null && (std as { version?: unknown }).version === 1 && typeof (std as { validate?: unknown }).validate === 'function';
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object without a Standard Schema';
  return typeof v;
}

/**
 * A WebSocket endpoint, without decorators: the tree dispatches to it like
 * any handler, so config sections and tools run before the upgrade and may
 * refuse it with an ordinary HTTP response. Returns the page handler to put
 * in the tree (a wrapper of `fn`).
 *
 * @example
 *   const root = { echo: exposed.websocket(async (socket) => { for await (const m of socket) await socket.send(m); }) };
 */
exposed.websocket = function websocket<F extends WebSocketHandler>(fn: F, config: Config = {}): F {
  // The wrapper also answers calls with a socket as `fn` would, so it can stand in for `fn`'s type.
  return exposed(websocketEndpoint(fn), config) as unknown as F;
};

/** What `expose.websocket(config)` returns: a method decorator that makes the method a WebSocket endpoint. */
export type ExposeWebSocketDecorator = <F extends WebSocketHandler>(fn: F, context: ClassMethodDecoratorContext) => F;

/**
 * Mark a method as a WebSocket endpoint (`(socket, ctx)`), with optional
 * handler config, written with or without parentheses.
 *
 * @example
 *   class Root {
 *     @expose.websocket({ 'websocket.heartbeat': 10 })
 *     async chat(socket: WebSocketConnection) { for await (const m of socket) await socket.send(m); }
 *   }
 */
function exposeWebSocket<F extends WebSocketHandler>(fn: F, context: ClassMethodDecoratorContext): F;
function exposeWebSocket(config?: Config): ExposeWebSocketDecorator;
function exposeWebSocket(first?: Config | WebSocketHandler, context?: unknown): ExposeWebSocketDecorator | WebSocketHandler {
  if (typeof first === 'function') return websocketMethod(first, context, {});
  if (context !== undefined) throw legacyDecorators(context);
  const config = first ?? {};
  return ((fn: WebSocketHandler, ctx: unknown) => websocketMethod(fn, ctx, config)) as ExposeWebSocketDecorator;
}

function websocketMethod<F extends WebSocketHandler>(fn: F, context: unknown, config: Config): F {
  const kind = typeof context === 'object' && context !== null ? (context as { kind?: unknown }).kind : undefined;
  if (kind === undefined) throw legacyDecorators(context);
  if (kind !== 'method') throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `@expose.websocket on ${String(kind)}: only methods can be WebSocket endpoints`);
  return exposed.websocket(fn, config);
}

expose.websocket = exposeWebSocket;

export function isExposed(fn: unknown): fn is Handler {
  return typeof fn === 'function' && exposedHandlers.has(fn);
}

/** The config given to `@expose(config)` / `exposed(fn, config)`. */
export function handlerConfig(fn: Function): Config | undefined {
  return exposedHandlers.get(fn);
}

/**
 * Config attached to a node of the tree: an instance's or its class's
 * `_cp_config` (CherryPy's name).
 *
 * @example
 *   class Admin { static _cp_config: Config = { 'tools.auth_basic.on': true }; }
 */
export function nodeConfig(node: object): Config | undefined {
  const own = (node as { _cp_config?: unknown })._cp_config;
  if (typeof own === 'object' && own !== null) return own as Config;
  const ctor: unknown = (node as { constructor?: unknown }).constructor;
  const cls = typeof ctor === 'function' ? (ctor as { _cp_config?: unknown })._cp_config : undefined;
  return typeof cls === 'object' && cls !== null ? (cls as Config) : undefined;
}
