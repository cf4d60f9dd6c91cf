import type { Context } from '../http/request.js';

/** CherryPy's eight hook points, in the order a request meets them. */
export const HOOK_POINTS = [
  'on_start_resource',
  'before_request_body',
  'before_handler',
  'before_finalize',
  'on_end_resource',
  'before_error_response',
  'after_error_response',
  'on_end_request',
] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];

export type HookFn = (ctx: Context) => unknown;
/** A hook as config takes it: a function, or one with its priority (lower runs first, default 50) and failsafe flag. */
export type HookEntry = HookFn | { run: HookFn; priority?: number; failsafe?: boolean };

export interface Hook {
  readonly name: string;
  readonly run: HookFn;
  readonly priority: number;
  /** Runs even after an earlier hook of the same point failed. */
  readonly failsafe: boolean;
}
