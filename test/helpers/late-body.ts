// Handlers that read the request body only once the client has left (their request.signal
// aborted), for the tests that a late read settles: each records how its read ended.
import { exposed, type Context } from '../../src/index.js';

export interface LateReaders {
  /** By handler name: 'read' when the read completed, else the name of what it threw. */
  readonly outcomes: Record<string, string>;
  /** How many of the handlers have started (before they wait for the client to leave). */
  readonly started: () => number;
  /** `/bytes` reads with `request.bytes()`, `/stream` through `request.stream()`. */
  readonly root: { bytes: unknown; stream: unknown };
}

export function lateReaders(): LateReaders {
  const outcomes: Record<string, string> = {};
  let started = 0;
  const afterLeaving = (name: string, read: (ctx: Context) => Promise<unknown>) => exposed(async (ctx: Context) => {
    const { signal } = ctx.request;
    started++;
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    try {
      await read(ctx);
      outcomes[name] = 'read';
    } catch (err) {
      outcomes[name] = (err as Error).name;
    }
    return 'nobody reads this';
  });
  return {
    outcomes,
    started: () => started,
    root: {
      bytes: afterLeaving('bytes', ({ request }) => request.bytes()),
      stream: afterLeaving('stream', async ({ request }) => { for await (const _ of request.stream()) { /* read it all */ } }),
    },
  };
}
