import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_SERVER_HEADER, type Config } from '../core/config.js';
import { Logger } from '../core/log.js';
import { handle, type PipelineHost } from '../core/lifecycle.js';
import { planFor, type Plan, type PlanSource } from '../core/plan.js';
import { isH2, resetStream } from '../http/h2-stream.js';
import { pathSegments } from '../http/target.js';
import type { Request } from '../http/request.js';
import type { Exchange } from '../http/writer.js';
import { LiveList } from '../http/live-list.js';

/** How many paths keep their plan; past it the oldest is dropped (a `default` handler sees unbounded paths). */
const PLAN_CACHE_SIZE = 10_000;

/**
 * What stands behind an App's public face: the node listener and its
 * connection queue, the plan cache, request ids, the logs, and the state
 * `serve()` drives (closing, streams in flight). The pipeline and the
 * writer see it as their host; users never do.
 */
export class AppHost implements PipelineHost {
  readonly #plans = new Map<string, Plan>();
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #source: PlanSource;
  #logger: Logger;
  readonly idPrefix = randomBytes(3).toString('hex');
  #idCounter = 0;
  /** Set by `serve()`'s close(): every response from now on says `Connection: close`. */
  closing = false;
  /** Streamed responses in flight, told through `request.signal` when the server shuts down. */
  readonly streams = new LiveList<Exchange>();
  /** The host a redirect names when the request's own is missing or malformed (`serve()` sets its address). */
  fallbackHost = 'localhost';
  /** Where `serve()` mounted the app ('' at the root, '/blog' in a Tree). */
  scriptName = '';
  serverHeader = DEFAULT_SERVER_HEADER;
  /** `request.id_header`: the response header that echoes the request's id ('' for none). */
  idHeader = '';
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(source: PlanSource) {
    this.#source = source;
    this.serverHeader = source.base['response.headers.server'] ?? DEFAULT_SERVER_HEADER;
    this.#logger = new Logger({ screen: true });
    this.listener = (req, res) => this.#enqueue(req, res);
  }

  /**
   * Pipelined requests on one connection run one at a time: the next starts
   * once the previous response has gone to the socket. node parses every
   * request in a packet at once; without this, one packet of small requests
   * would hold all their buffered answers in memory (HOSTILE 23). node
   * itself hands a connection to one response at a time: a response queued
   * behind another has no `socket` yet and gets it (with a 'socket' event)
   * when the one ahead has finished — so the usual case, nothing ahead,
   * costs one property read. A response whose connection dies first never
   * gets its socket, and its request never runs.
   *
   * Nor does one behind a response that closed the connection (HOSTILE 32):
   * node holds back a queued response when the one ahead said `Connection:
   * close`, but a request parsed after that response had already finished
   * gets the socket at once — while it is ending. Such a request is dropped
   * unanswered; the connection is closing under it.
   *
   * HTTP/2 has no queue to wait in: its streams are multiplexed, and its
   * compatibility response's `socket` is a Proxy built on first use.
   */
  #enqueue(req: IncomingMessage, res: ServerResponse): void {
    if (isH2(req)) return this.#run(req, res);
    const socket = res.socket;
    if (socket !== null) {
      if (!socket.writableEnded) this.#run(req, res);
    } else res.once('socket', () => { if (res.socket?.writable === true) this.#run(req, res); });
  }

  /** Run one exchange that no connection queue holds (`app.fetch`'s adapters stand in for req and res). */
  runExchange(req: IncomingMessage, res: ServerResponse): void {
    this.#run(req, res);
  }

  #run(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight++;
    // The pipeline tells `stepsDone` or `stepsFailed` (no `then` on a promise of its own, no closure).
    handle(this, req, res, this);
  }

  /** The request's steps are over (lifecycle.ts, through drive). */
  stepsDone(): void {
    this.#finished();
  }

  stepsFailed(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    this.#failed(err, req, res);
  }

  /**
   * The pipeline answers every error itself; reaching here is a bug in Drupe: log it, never crash,
   * and cut the response so the client sees a failure. On h2 that is RST_STREAM(INTERNAL_ERROR):
   * node's destroy() would send NO_ERROR, which clients read as a complete body.
   */
  #failed(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    this.logError('Handling a request failed', err);
    if (isH2(req)) resetStream(res);
    else res.destroy();
    this.#finished();
  }

  /** A streamed body goes on after `handle` returned: it stays in flight until `streamEnded`. */
  streamStarted(): void {
    this.#inFlight++;
  }

  /** The writer ended a streamed body's request; `ending` is a promise while its on_end_request hooks run. */
  streamEnded(ctx: Exchange, ending: void | Promise<void>): void {
    if (ending) ending.then(this.#finished, (err: unknown) => this.#failed(err, ctx.request.raw, ctx.res));
    else this.#finished();
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

  /** Start over from another merged config: new plans, new logs. */
  reset(source: PlanSource): void {
    this.#source = source;
    this.#plans.clear();
    this.serverHeader = source.base['response.headers.server'] ?? DEFAULT_SERVER_HEADER;
    const base: Config = source.base;
    void this.#logger.close();
    this.#logger = new Logger({ screen: base['log.screen'] ?? true, accessFile: base['log.access_file'], errorFile: base['log.error_file'], format: base['log.format'] });
    this.idHeader = base['request.id_header'] || '';
  }

  get globalConfig(): Readonly<Config> {
    return this.#source.base;
  }

  /** The plan for a request's path, built once and cached. */
  plan(request: Request): Plan {
    const path = request.path;
    const cached = this.#plans.get(path);
    if (cached !== undefined) return cached;
    const { plan, cacheable } = planFor(this.#source, path, pathSegments(path));
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

  logAccess(ctx: Exchange): void {
    this.#logger.access(ctx);
  }

  logError(message: string, err: unknown, requestId?: string): void {
    this.#logger.error(message, err, requestId);
  }

  /** Start new log files at the configured paths (logrotate moved the old ones). */
  reopenLogs(): void {
    this.#logger.reopen();
  }

  /** Flush and close the log files. */
  async closeLogs(): Promise<void> {
    await this.#logger.close();
  }
}
