// CherryPy's `cherrypy.engine`: a bus with a state and channels that plugins listen on.
// Nothing here is on the request path: the engine only starts and stops things.
import { installSignals, removeSignals } from './signals.js';

/** Where the engine is in its life. */
export type EngineState = 'stopped' | 'starting' | 'started' | 'stopping' | 'exiting';

/** The arguments each channel's listeners receive. */
export interface EngineChannels {
  start: [];
  stop: [];
  graceful: [];
  exit: [];
  /** A line for the operator: the message, and a level (20 debug, 30 info, 40 warn, 50 error, as pino numbers them). */
  log: [message: string, level: number];
  main: [];
  /** Drupe's own: log files are reopened at the same paths (SIGUSR2, after logrotate moved them). */
  reopen: [];
}

export type EngineChannel = keyof EngineChannels;

/** A listener on a channel. Its result (awaited when it is a promise) is returned by `publish()`. */
export type EngineListener<C extends EngineChannel = EngineChannel> = (...args: EngineChannels[C]) => unknown;

/**
 * A plugin: an object whose methods named after channels are subscribed, bound to the object.
 * `priority` is one number for all its methods, or one per channel; a channel it does not name
 * gets 50. A plugin's `start` and `stop` are a pair: when a later listener fails during
 * `engine.start()`, the plugins whose `start` finished have their `stop` called.
 */
export type EnginePlugin = { [C in EngineChannel]?: EngineListener<C> } & {
  priority?: number | { readonly [C in EngineChannel]?: number };
};

export interface EngineOptions {
  /**
   * How long one `stop` listener may take before the engine logs it and moves on, in ms. 15 000 by
   * default: longer than a server's own default `server.shutdown_timeout` (10 s) plus the moment
   * its logs take to close, so a server on the engine ends its own shutdown rather than race it.
   */
  stopTimeout?: number;
}

interface Entry {
  readonly listener: EngineListener;
  readonly priority: number;
  /** The plugin this listener came from, if any: its `stop` undoes its `start`. */
  readonly plugin: EnginePlugin | undefined;
}

const CHANNELS: readonly EngineChannel[] = ['start', 'stop', 'graceful', 'exit', 'log', 'main', 'reopen'];

/** Sorted by priority, lower first; equal priorities keep subscription order (the sort is stable). */
const byPriority = (a: Entry, b: Entry): number => a.priority - b.priority;

/**
 * The engine: one per process is exported as `engine`; tests make their own.
 *
 * @example
 *   engine.use(serverPlugin(new App(new Root()), { port: 8080 }));
 *   await engine.start();
 *   await engine.block(); // until engine.exit()
 */
export class Engine {
  #state: EngineState = 'stopped';
  readonly #channels = new Map<EngineChannel, Entry[]>(CHANNELS.map((c) => [c, []]));
  readonly #plugins = new Map<EnginePlugin, { channel: EngineChannel; listener: EngineListener }[]>();
  #exited!: () => void;
  readonly #exit = new Promise<void>((resolve) => { this.#exited = resolve; });
  /** The start or stop under way: a second call waits for it rather than start or stop twice. */
  #transition: Promise<void> = Promise.resolve();
  #exiting: Promise<void> | undefined;
  /** See EngineOptions.stopTimeout. */
  stopTimeout: number;

  constructor(options: EngineOptions = {}) {
    this.stopTimeout = options.stopTimeout ?? 15_000;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Listen on a channel; lower priorities run first (50 by default). */
  subscribe<C extends EngineChannel>(channel: C, listener: EngineListener<C>, priority = 50): void {
    this.#add(channel, listener as EngineListener, priority, undefined);
  }

  unsubscribe<C extends EngineChannel>(channel: C, listener: EngineListener<C>): void {
    const entries = this.#entries(channel);
    const i = entries.findIndex((e) => e.listener === listener);
    if (i !== -1) entries.splice(i, 1);
  }

  /** Subscribe each of the plugin's methods named after a channel, bound to the plugin. Returns the plugin. */
  use<P extends EnginePlugin>(plugin: P): P {
    if (this.#plugins.has(plugin)) return plugin;
    const added: { channel: EngineChannel; listener: EngineListener }[] = [];
    for (const channel of CHANNELS) {
      const method = plugin[channel] as EngineListener | undefined;
      if (typeof method !== 'function') continue;
      const p = plugin.priority;
      const priority = typeof p === 'number' ? p : p?.[channel] ?? 50;
      const listener = method.bind(plugin) as EngineListener;
      this.#add(channel, listener, priority, plugin);
      added.push({ channel, listener });
    }
    this.#plugins.set(plugin, added);
    return plugin;
  }

  /** Undo `use(plugin)`. */
  unuse(plugin: EnginePlugin): void {
    for (const { channel, listener } of this.#plugins.get(plugin) ?? []) this.unsubscribe(channel, listener);
    this.#plugins.delete(plugin);
  }

  /**
   * Run a channel's listeners in priority order, one after another (async ones awaited), and
   * return their results. All run even if one fails; the first error is thrown after.
   */
  async publish<C extends EngineChannel>(channel: C, ...args: EngineChannels[C]): Promise<unknown[]> {
    const results: unknown[] = [];
    let failure: { error: unknown } | undefined;
    for (const entry of [...this.#entries(channel)]) {
      try {
        results.push(await (channel === 'stop' ? this.#stopOne(entry) : entry.listener(...args)));
      } catch (error) {
        failure ??= { error };
        results.push(undefined);
      }
    }
    if (failure !== undefined) throw failure.error;
    return results;
  }

  /**
   * stopped → starting → (publish 'start') → started. When a listener fails, the plugins
   * whose `start` already finished are stopped, the latest first; the state goes back to
   * 'stopped' and this rejects with the listener's error. A no-op when already started; while
   * starting, the start under way.
   */
  start(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'started') return this.#transition;
    if (this.#state !== 'stopped') return Promise.reject(new Error(`engine.start() while the engine is ${this.#state}`));
    this.#transition = this.#start();
    return this.#transition;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const started: Entry[] = [];
    for (const entry of [...this.#entries('start')]) {
      try {
        await entry.listener();
        started.push(entry);
      } catch (error) {
        this.log(`engine: a start listener failed (${describe(error)}); stopping what started`, 50);
        this.#state = 'stopping';
        for (const done of started.reverse()) {
          const stop = done.plugin === undefined ? undefined : this.#entries('stop').find((e) => e.plugin === done.plugin);
          if (stop === undefined) continue;
          try {
            await this.#stopOne(stop);
          } catch (err) {
            this.log(`engine: a stop listener failed while undoing a failed start (${describe(err)})`, 50);
          }
        }
        this.#state = 'stopped';
        throw error;
      }
    }
    this.#state = 'started';
  }

  /**
   * started → stopping → (publish 'stop': all run, the first error is thrown after) → stopped.
   * While starting, waits for the start to end first; while stopping, the stop under way.
   */
  async stop(): Promise<void> {
    if (this.#state === 'starting') await this.#transition.catch(() => undefined);
    if (this.#state === 'stopping') return this.#transition;
    if (this.#state !== 'started') return;
    this.#transition = this.#stop();
    return this.#transition;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    try {
      await this.publish('stop');
    } finally {
      this.#state = 'stopped';
    }
  }

  /** Publish 'graceful' (CherryPy's graceful restart of what listens to it). */
  async graceful(): Promise<void> {
    await this.publish('graceful');
  }

  /** Stop if started, then 'exiting': publish 'exit' and resolve what `block()` returns. */
  exit(): Promise<void> {
    this.#exiting ??= this.#exitOnce();
    return this.#exiting;
  }

  async #exitOnce(): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      await this.stop();
    } catch (error) {
      failure = { error };
    }
    this.#state = 'exiting';
    try {
      await this.publish('exit');
    } catch (error) {
      failure ??= { error };
    }
    this.#exited();
    if (failure !== undefined) throw failure.error;
  }

  /**
   * Answer the signals a service gets, as CherryPy's signal handler does (nothing is installed
   * until this is called): SIGTERM and SIGINT → `exit()`, then `process.exit(0)` (1 when
   * stopping failed, logged); a second SIGINT or SIGTERM while stopping → `process.exit` at
   * once with 130 (SIGINT) or 143 (SIGTERM); SIGUSR1 and SIGHUP → `graceful()`.
   * Returns the undo for this call: the handlers come off once every caller has undone its
   * call. `signals(false)` takes them off whoever asked for them.
   */
  signals(on = true): () => void {
    if (on) return installSignals(this);
    removeSignals(this);
    return () => { /* nothing left to undo */ };
  }

  /** Publish 'reopen': every server the engine runs reopens its log files (what SIGUSR2 does). */
  async reopen(): Promise<void> {
    await this.publish('reopen');
  }

  /** Resolves when the engine has exited. */
  block(): Promise<void> {
    return this.#exit;
  }

  /** Publish a line on 'log'; with no listener there, it goes to stderr so it is not lost. */
  log(message: string, level = 30): void {
    if (this.#entries('log').length === 0) {
      process.stderr.write(`${message}\n`);
      return;
    }
    this.publish('log', message, level).catch(() => { /* a failing log listener has nowhere to report */ });
  }

  #entries(channel: EngineChannel): Entry[] {
    const entries = this.#channels.get(channel);
    if (entries === undefined) throw new TypeError(`engine: no channel ${String(channel)} (channels: ${CHANNELS.join(', ')})`);
    return entries;
  }

  #add(channel: EngineChannel, listener: EngineListener, priority: number, plugin: EnginePlugin | undefined): void {
    if (typeof listener !== 'function') throw new TypeError(`engine.subscribe('${channel}', listener): the listener must be a function`);
    if (!Number.isFinite(priority)) throw new TypeError(`engine.subscribe('${channel}', listener, priority): the priority must be a finite number`);
    const entries = this.#entries(channel);
    entries.push({ listener, priority, plugin });
    entries.sort(byPriority);
  }

  /** Run one stop listener, cut (and logged) at `stopTimeout` if it hangs. */
  async #stopOne(entry: Entry): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<typeof CUT>((resolve) => { timer = setTimeout(resolve, this.stopTimeout, CUT); });
    try {
      const result = await Promise.race([Promise.resolve(entry.listener()), cut]);
      if (result === CUT) {
        this.log(`engine: a stop listener${entry.listener.name ? ` (${entry.listener.name})` : ''} did not finish in ${this.stopTimeout} ms; moving on`, 40);
        return undefined;
      }
      return result;
    } finally {
      clearTimeout(timer);
    }
  }
}

const CUT: unique symbol = Symbol('cut');

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The process-wide engine. */
export const engine = new Engine();
