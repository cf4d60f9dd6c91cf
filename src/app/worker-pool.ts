// The primary's half of worker mode: N worker processes on node:cluster sharing the port,
// started together, restarted with back-off when one crashes, replaced one at a time on a
// rolling restart, and stopped gracefully. Nothing here is on the request path.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { WorkerCrashLoopError, WorkerStartError } from '../lib/errors.js';
import { engine } from './engine.js';
import { WORKER_ENV, oneLine } from './worker-process.js';

/** When a crashed worker is replaced, and when the pool gives up. Times in ms. */
export interface RestartPolicy {
  /** The wait before the first replacement; it doubles with each crash after. */
  readonly firstDelay: number;
  /** The longest wait between a crash and its replacement. */
  readonly maxDelay: number;
  /** A worker that stayed ready this long before it crashed starts the back-off over at `firstDelay`. */
  readonly resetAfter: number;
  /** This many crashes within `window` and the pool gives up. */
  readonly maxCrashes: number;
  readonly window: number;
}

export const RESTART_POLICY: RestartPolicy = { firstDelay: 100, maxDelay: 5_000, resetAfter: 10_000, maxCrashes: 5, window: 60_000 };

/** The primary's exit code when its workers crash in a loop (the default `onGiveUp`). */
export const CRASH_LOOP_EXIT_CODE = 1;

/** How long past its shutdown timeout a stopping worker may live before it is killed. */
const KILL_MARGIN = 5_000;

export interface WorkerPoolOptions {
  /** How many workers (≥ 1); 'auto' = os.availableParallelism(). */
  workers: number | 'auto';
  /** The script workers run (cluster.setupPrimary's exec); default process.argv[1]. */
  exec?: string;
  /** Its arguments; default process.argv.slice(2). */
  args?: readonly string[];
  /** Added to the workers' environment (which is the primary's). */
  env?: Readonly<Record<string, string>>;
  /** Where the pool's lines go; default the engine's log. */
  log?: (message: string, level: number) => void;
  /** ms a worker's graceful stop may take (its `server.shutdown_timeout`); it is killed 5 s after. Default 10 000. */
  shutdownTimeout?: number;
  /** Back-off and give-up numbers; default RESTART_POLICY. */
  restart?: Partial<RestartPolicy>;
  /**
   * Called once the pool gave up on workers crashing in a loop and stopped. Default: the
   * process-wide engine exits, then the process exits with CRASH_LOOP_EXIT_CODE (1).
   */
  onGiveUp?: (error: WorkerCrashLoopError) => void;
}

/** N workers on node:cluster. Usable as an engine plugin: `engine.use(workerPool({ workers: 2 }))`. */
export interface WorkerPool {
  readonly size: number;
  /** Fork every worker; resolves when all said ready. If one fails first, the others are stopped and this rejects with a WorkerStartError (its one-line reason and exit code). */
  start(): Promise<void>;
  /** Every worker drains (its own graceful close) and exits; one that outlives its shutdown timeout by 5 s is killed. */
  stop(): Promise<void>;
  /** Rolling restart: one worker at a time, each new one ready before the old one is told to stop. */
  graceful(): Promise<void>;
  /** Tell every worker to reopen its log files (the engine's 'reopen', SIGUSR2). */
  reopen(): void;
  /** The PIDs of the workers running now, by slot. */
  readonly pids: readonly number[];
}

type Role = 'initial' | 'replacement' | 'rolling';

interface Member {
  readonly worker: Worker;
  readonly pid: number;
  readonly slot: number;
  readonly serial: number;
  readonly role: Role;
  state: 'starting' | 'ready' | 'stopping';
  readyAt: number;
  /** The worker's own one line, from its 'failed' message. */
  reason: string | undefined;
  reportedCode: number | undefined;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
}

const noop = (): void => { /* handled elsewhere */ };

function how(code: number | null, signal: string | null): string {
  return signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

function workerCount(workers: number | 'auto'): number {
  if (workers === 'auto') return Math.max(1, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) throw new TypeError(`workerPool: workers must be an integer ≥ 1 or 'auto', got ${String(workers)}`);
  return workers;
}

/** node's --import runs the start-up guard first in each worker (node ≥ 20.6; without it, only the exit code is known). */
function workerExecArgv(): string[] {
  if (!process.allowedNodeEnvironmentFlags.has('--import')) return [...process.execArgv];
  return [...process.execArgv, '--import', new URL('./worker-preload.js', import.meta.url).href];
}

class Pool implements WorkerPool {
  readonly size: number;
  readonly #options: WorkerPoolOptions;
  readonly #policy: RestartPolicy;
  readonly #log: (message: string, level: number) => void;
  #state: 'stopped' | 'starting' | 'running' | 'stopping' = 'stopped';
  readonly #slots: (Member | undefined)[] = [];
  readonly #members = new Set<Member>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #serial = 0;
  #delay: number;
  #crashes: number[] = [];
  #starting: Promise<void> = Promise.resolve();
  #stopping: Promise<void> = Promise.resolve();
  #rolling: Promise<void> | undefined;
  #rollAgain = false;

  constructor(options: WorkerPoolOptions) {
    this.size = workerCount(options.workers);
    this.#options = options;
    this.#policy = { ...RESTART_POLICY, ...options.restart };
    this.#delay = this.#policy.firstDelay;
    this.#log = options.log ?? ((message, level) => engine.log(message, level));
  }

  get pids(): readonly number[] {
    return this.#slots.flatMap((m) => (m === undefined ? [] : [m.pid]));
  }

  start(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running') return this.#starting;
    if (this.#state === 'stopping') return Promise.reject(new Error('workerPool.start() while the pool is stopping'));
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    this.#crashes = [];
    this.#delay = this.#policy.firstDelay;
    const members = Array.from({ length: this.size }, (_, slot) => this.#fork(slot, 'initial'));
    try {
      await Promise.all(members.map((m) => m.ready));
      const lost = members.find((m) => !this.#members.has(m));
      if (lost !== undefined) throw new WorkerStartError('it exited while the other workers were starting', 1, `worker ${lost.slot + 1} (pid ${lost.pid})`);
    } catch (error) {
      this.#log(`workers: ${error instanceof Error ? error.message : String(error)}; stopping the others`, 50);
      this.#state = 'stopping';
      await this.#stopAll();
      this.#state = 'stopped';
      throw error;
    }
    this.#state = 'running';
    this.#log(`workers: ${this.size} worker${this.size === 1 ? '' : 's'} ready (pids ${this.pids.join(', ')})`, 30);
  }

  stop(): Promise<void> {
    if (this.#state === 'stopping') return this.#stopping;
    if (this.#state === 'stopped') return Promise.resolve();
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'starting') await this.#starting.catch(noop);
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#log(`workers: stopping ${this.#members.size} worker${this.#members.size === 1 ? '' : 's'} gracefully`, 30);
    await this.#stopAll();
    this.#state = 'stopped';
    this.#log('workers: all stopped', 30);
  }

  graceful(): Promise<void> {
    if (this.#state !== 'running') return Promise.resolve();
    if (this.#rolling !== undefined) {
      // Asked again mid-way (new code deployed since?): the workers already replaced may run older code, so go round once more.
      if (!this.#rollAgain) this.#log('workers: a rolling restart is under way; another will follow it', 30);
      this.#rollAgain = true;
      return this.#rolling;
    }
    this.#rolling = (async () => {
      do {
        this.#rollAgain = false;
        await this.#roll();
      } while (this.#rollAgain && this.#state === 'running');
    })().finally(() => { this.#rolling = undefined; });
    return this.#rolling;
  }

  async #roll(): Promise<void> {
    const cutoff = this.#serial;
    this.#log(`workers: rolling restart of ${this.size} worker${this.size === 1 ? '' : 's'}, one at a time`, 30);
    let replaced = 0;
    for (let slot = 0; slot < this.size; slot++) {
      if (this.#state !== 'running') return;
      const old = this.#slots[slot];
      if (old !== undefined && old.serial >= cutoff) continue; // already a new one (a crash was replaced meanwhile)
      const fresh = this.#fork(slot, 'rolling');
      try {
        await fresh.ready;
      } catch (error) {
        if (this.#state !== 'running') return; // stopped meanwhile: the stop ended it
        const kept = this.#slots[slot];
        this.#log(`workers: rolling restart stopped: ${error instanceof Error ? error.message : oneLine(error)}; ${kept === undefined ? 'its slot stays empty' : `worker ${slot + 1} (pid ${kept.pid}) keeps running`}`, 50);
        return;
      }
      if (this.#state !== 'running') {
        await this.#stopMember(fresh);
        return;
      }
      const current = this.#slots[slot];
      this.#install(fresh);
      if (current !== undefined) await this.#stopMember(current);
      replaced++;
    }
    this.#log(`workers: rolling restart done (${replaced} replaced; pids ${this.pids.join(', ')})`, 30);
  }

  reopen(): void {
    for (const m of this.#members) if (m.state === 'ready') this.#send(m, { drupe: 'reopen' });
  }

  /** Put a worker in its slot (a pending crash replacement for the slot is no longer needed). */
  #install(member: Member): void {
    const timer = this.#timers.get(member.slot);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(member.slot);
    this.#slots[member.slot] = member;
  }

  #fork(slot: number, role: Role): Member {
    cluster.setupPrimary({
      exec: this.#options.exec ?? process.argv[1],
      args: [...(this.#options.args ?? process.argv.slice(2))],
      execArgv: workerExecArgv(),
    });
    const worker = cluster.fork({ ...this.#options.env, [WORKER_ENV]: '1' });
    let readied!: () => void;
    let failed!: (error: WorkerStartError) => void;
    let gone!: () => void;
    const ready = new Promise<void>((resolve, reject) => { readied = resolve; failed = reject; });
    ready.catch(noop);
    const exited = new Promise<void>((resolve) => { gone = resolve; });
    const member: Member = {
      worker, pid: worker.process.pid ?? 0, slot, serial: this.#serial++, role,
      state: 'starting', readyAt: 0, reason: undefined, reportedCode: undefined, ready, exited,
    };
    this.#members.add(member);
    if (role !== 'rolling') this.#install(member);
    worker.on('message', (message: unknown) => {
      if (typeof message !== 'object' || message === null) return;
      const m = message as { drupe?: unknown; reason?: unknown; exitCode?: unknown };
      if (m.drupe === 'ready' && member.state === 'starting') {
        member.state = 'ready';
        member.readyAt = Date.now();
        if (role !== 'initial') this.#log(`workers: worker ${slot + 1} (pid ${member.pid}) ready`, 30);
        readied();
      } else if (m.drupe === 'stopped') {
        // Its servers are closed, and their close was read before this: nothing more is handed to it (see farewell()).
        this.#send(member, { drupe: 'exit' });
      } else if (m.drupe === 'failed') {
        member.reason = typeof m.reason === 'string' ? m.reason : undefined;
        member.reportedCode = typeof m.exitCode === 'number' ? m.exitCode : undefined;
      }
    });
    worker.on('error', noop); // a send to a worker that is going away; its exit tells the rest
    worker.once('exit', (code: number | null, signal: string | null) => {
      this.#members.delete(member);
      if (this.#slots[slot] === member) this.#slots[slot] = undefined;
      const was = member.state;
      member.state = 'stopping';
      gone();
      if (was === 'starting') {
        const error = new WorkerStartError(member.reason ?? `it ${how(code, signal)} before it was ready`, member.reportedCode ?? code ?? 1, `worker ${slot + 1} (pid ${member.pid})`);
        failed(error);
        if (role === 'replacement') this.#crashed(member, error.message);
      } else if (was === 'ready') {
        this.#crashed(member, `worker ${slot + 1} (pid ${member.pid}) ${how(code, signal)}`);
      } else if (member.readyAt !== 0 && (code !== 0 || signal !== null)) {
        this.#log(`workers: worker ${slot + 1} (pid ${member.pid}) ${how(code, signal)} while stopping`, 40);
      }
    });
    return member;
  }

  /** A worker died unasked (or its replacement could not start): replace it with back-off, or give up. */
  #crashed(member: Member, what: string): void {
    if (this.#state !== 'running') return;
    const now = Date.now();
    const { window, maxCrashes, firstDelay, maxDelay, resetAfter } = this.#policy;
    this.#crashes = this.#crashes.filter((t) => now - t < window);
    this.#crashes.push(now);
    if (this.#crashes.length >= maxCrashes) {
      this.#giveUp(what);
      return;
    }
    if (member.readyAt !== 0 && now - member.readyAt >= resetAfter) this.#delay = firstDelay;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, maxDelay);
    this.#log(`workers: ${what}; starting another in ${delay} ms`, 40);
    const slot = member.slot;
    const previous = this.#timers.get(slot);
    if (previous !== undefined) clearTimeout(previous);
    this.#timers.set(slot, setTimeout(() => {
      this.#timers.delete(slot);
      if (this.#state === 'running' && this.#slots[slot] === undefined) this.#fork(slot, 'replacement');
    }, delay));
  }

  #giveUp(what: string): void {
    const { maxCrashes, window } = this.#policy;
    const error = new WorkerCrashLoopError(`workers: ${maxCrashes} crashes within ${window / 1000} s (the last: ${what}); giving up and stopping`);
    this.#log(error.message, 50);
    const onGiveUp = this.#options.onGiveUp ?? ((): void => {
      process.exitCode = CRASH_LOOP_EXIT_CODE;
      void engine.exit().finally(() => process.exit(CRASH_LOOP_EXIT_CODE));
    });
    void this.stop().then(() => onGiveUp(error));
  }

  #stopAll(): Promise<void> {
    return Promise.all([...this.#members].map((m) => this.#stopMember(m))).then(noop);
  }

  /** Ask one worker to drain and exit; kill it if it outlives its shutdown timeout plus a margin. */
  async #stopMember(member: Member): Promise<void> {
    if (!this.#members.has(member)) return member.exited;
    if (member.state === 'starting') {
      // Not serving yet, and maybe not listening for messages: SIGTERM ends it (or stops it gracefully once it is a worker).
      member.state = 'stopping';
      member.worker.process.kill('SIGTERM');
    } else if (member.state === 'ready') {
      member.state = 'stopping';
      if (!this.#send(member, { drupe: 'stop' })) member.worker.process.kill('SIGTERM');
    }
    const limit = (this.#options.shutdownTimeout ?? 10_000) + KILL_MARGIN;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(resolve, limit, true); });
    const cut = await Promise.race([member.exited.then(() => false), late]);
    clearTimeout(timer);
    if (cut) {
      this.#log(`workers: worker ${member.slot + 1} (pid ${member.pid}) did not stop within ${limit} ms; killing it`, 40);
      member.worker.process.kill('SIGKILL');
      await member.exited;
    }
  }

  #send(member: Member, message: { drupe: 'stop' | 'reopen' | 'exit' }): boolean {
    if (!member.worker.isConnected()) return false;
    try {
      member.worker.send(message);
      return true;
    } catch {
      return false;
    }
  }
}

/** Start N workers on node:cluster; see WorkerPool. */
export function workerPool(options: WorkerPoolOptions): WorkerPool {
  return new Pool(options);
}
