import type { ServerResponse } from 'node:http';
import type { Context } from '../http/request.js';
import type { Params } from '../http/form.js';
import type { Request } from '../http/request.js';
import { kSetOwner, type Response } from '../http/response.js';
import { commit, type Exchange, type WriterHost } from '../http/writer.js';
import type { Plan } from './plan.js';

/** The pipeline's own view of a request in flight. */
export class RequestContext implements Context, Exchange {
  readonly request: Request;
  readonly response: Response;
  readonly res: ServerResponse;
  args: readonly string[] = [];
  /** The declared JSON body once validated (docs/validation.md); undefined without a `body` schema. */
  body: unknown = undefined;
  /** The declared params once validated; undefined leaves `params` the request's own. */
  validParams: Params | undefined = undefined;
  plan: Plan | undefined;
  readonly started: number;
  /** Filled by the writer for the access log. */
  bytesSent = 0;
  firstByteAt = 0;
  outcome: 'complete' | 'error' | 'client-closed' = 'complete';
  streamed = false;
  readonly h2: boolean;
  /** A malformed request target (or a Transfer-Encoding Drupe will not read), answered with a 400 once the pipeline starts. */
  targetError: unknown = undefined;
  readonly host: WriterHost;
  /** Links of the host's list of streams in flight (src/http/live-list.ts). */
  livePrev: Exchange | undefined = undefined;
  liveNext: Exchange | undefined = undefined;
  liveIn: object | undefined = undefined;

  constructor(host: WriterHost, request: Request, response: Response, res: ServerResponse, started: number, h2: boolean) {
    this.host = host;
    this.h2 = h2;
    this.request = request;
    this.response = response;
    this.res = res;
    this.started = started;
    response[kSetOwner](this);
  }

  /** `response.flushHeaders()`: commit now; the body will be streamed. */
  flush(): void {
    this.streamed = true;
    commit(this.host, this, null);
    this.res.flushHeaders();
  }

  get secretKeys(): readonly Buffer[] {
    return this.plan?.settings.secretKeys ?? [];
  }

  get serverHeader(): string | undefined {
    return this.plan?.settings.serverHeader;
  }

  get params(): Params {
    return this.validParams ?? this.request.params;
  }
}

/** Errors of hooks after the first failing one at a point: logged, not answered. */
export function logExtraError(err: unknown, ctx: RequestContext): void {
  ctx.host.logError('A further hook failed', err, ctx.request.id);
}
