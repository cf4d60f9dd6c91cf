import type { ServerResponse } from 'node:http';
import type { Params } from './internal/form.js';
import type { Plan } from './plan.js';
import type { Request } from './request.js';
import type { Response } from './response.js';
import { commit, type WriterHost } from './writer.js';

/**
 * What every handler, hook and tool receives.
 *
 * @example
 *   @expose() greet({ params, response }: Context) {
 *     response.headers.set('Content-Type', 'text/plain');
 *     return `Hello ${params.name ?? 'world'}`;
 *   }
 */
export interface Context {
  readonly request: Request;
  readonly response: Response;
  /** Query and form parameters (the same object as `request.params`). */
  readonly params: Params;
  /** Path segments left over for a `default` handler (or a MethodDispatcher resource). */
  readonly args: readonly string[];
}

/** The pipeline's own view of a request in flight. */
export class RequestContext implements Context {
  readonly request: Request;
  readonly response: Response;
  readonly res: ServerResponse;
  args: readonly string[] = [];
  plan: Plan | undefined;
  readonly started: number;
  /** Filled by the writer for the access log. */
  bytesSent = 0;
  firstByteAt = 0;
  outcome: 'complete' | 'error' | 'client-closed' = 'complete';
  streamed = false;
  /** A malformed request target (or a Transfer-Encoding Drupe will not read), answered with a 400 once the pipeline starts. */
  targetError: unknown = undefined;
  readonly host: WriterHost;

  constructor(host: WriterHost, request: Request, response: Response, res: ServerResponse, started: number) {
    this.host = host;
    this.request = request;
    this.response = response;
    this.res = res;
    this.started = started;
    response.setOwner(this);
  }

  /** `response.flushHeaders()`: commit now; the body will be streamed. */
  flush(): void {
    this.streamed = true;
    commit(this.host, this, null);
    this.res.flushHeaders();
  }

  get params(): Params {
    return this.request.params;
  }
}
