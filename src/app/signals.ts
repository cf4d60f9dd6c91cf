// The Unix signals a service answers, installed only when asked (`engine.signals()`): a library
// user's process keeps node's own behaviour until then.

/** What the signal handlers drive: the engine, seen through the few members they use. */
export interface SignalTarget {
  exit(): Promise<void>;
  graceful(): Promise<void>;
  reopen(): Promise<void>;
  log(message: string, level?: number): void;
}

/**
 * The exit code of a second SIGINT or SIGTERM while draining: 128 + the signal's number, as a
 * shell reports a process killed by it (130 for SIGINT, 143 for SIGTERM).
 */
export const IMMEDIATE_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

type Handled = 'SIGINT' | 'SIGTERM' | 'SIGUSR1' | 'SIGHUP' | 'SIGUSR2';

/** Installed handlers, shared by every `signals()` call on one target until all have been undone. */
interface Installation {
  users: number;
  readonly remove: () => void;
}

const installed = new WeakMap<SignalTarget, Installation>();

/**
 * Install the handlers for `target` (once, however many callers ask) and return the undo for
 * this caller: the handlers come off when every caller has undone its call.
 */
export function installSignals(target: SignalTarget): () => void {
  let installation = installed.get(target);
  if (installation === undefined) {
    installation = { users: 0, remove: listen(target) };
    installed.set(target, installation);
  }
  installation.users++;
  let undone = false;
  const current = installation;
  return () => {
    if (undone) return;
    undone = true;
    if (--current.users > 0 || installed.get(target) !== current) return;
    installed.delete(target);
    current.remove();
  };
}

/** Take every handler off for `target`, whoever asked for them (`engine.signals(false)`). */
export function removeSignals(target: SignalTarget): void {
  const installation = installed.get(target);
  if (installation === undefined) return;
  installed.delete(target);
  installation.remove();
}

function listen(target: SignalTarget): () => void {
  let draining = false;
  const exitGracefully = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (draining) {
      const code = IMMEDIATE_EXIT_CODES[signal];
      target.log(`engine: ${signal} received again while stopping; exiting now (code ${code})`, 40);
      process.exit(code);
    }
    draining = true;
    target.log(`engine: ${signal} received; stopping gracefully (send SIGINT or SIGTERM again to exit at once)`, 30);
    target.exit().then(
      () => process.exit(0),
      (error: unknown) => {
        target.log(`engine: stopping failed (${error instanceof Error ? error.message : String(error)}); exiting with code 1`, 50);
        process.exit(1);
      },
    );
  };
  const graceful = (signal: 'SIGUSR1' | 'SIGHUP'): void => {
    target.log(`engine: ${signal} received; publishing 'graceful'`, 30);
    target.graceful().catch((error: unknown) => {
      target.log(`engine: a 'graceful' listener failed (${error instanceof Error ? error.message : String(error)})`, 50);
    });
  };
  const reopen = (): void => {
    target.log("engine: SIGUSR2 received; reopening log files", 30);
    target.reopen().catch((error: unknown) => {
      target.log(`engine: reopening log files failed (${error instanceof Error ? error.message : String(error)})`, 50);
    });
  };
  const handlers: [Handled, () => void][] = [
    ['SIGINT', () => exitGracefully('SIGINT')],
    ['SIGTERM', () => exitGracefully('SIGTERM')],
    ['SIGHUP', () => graceful('SIGHUP')],
  ];
  // Windows has no SIGUSR1 or SIGUSR2 (node cannot listen for them there).
  if (process.platform !== 'win32') handlers.push(['SIGUSR1', () => graceful('SIGUSR1')], ['SIGUSR2', reopen]);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
