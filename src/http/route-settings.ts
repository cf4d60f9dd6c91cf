/**
 * A route's merged config as `request.config` shows it. Empty here: the
 * config keys live in core/config.ts, above this layer, which merges
 * `Config` into it (`declare module`, not an import), so handlers see it
 * typed as `Readonly<Config>`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RouteConfig {}

/** When a streamed response commits its headers: at its first chunk, at once, or after N ms without one. */
export type StreamCommit = 'first-chunk' | 'immediately' | number;

/** The bounds a request's body and params are read within (from the route's config). */
export interface RequestLimits {
  readonly maxBodySize: number;
  readonly maxParams: number;
  /** How deep JSON bodies may nest (`request.max_json_depth`). */
  readonly maxJsonDepth: number;
  readonly maxParts: number;
  readonly maxFileSize: number;
  readonly spoolThreshold: number;
}

/**
 * Settings every request reads, derived once per route from its merged
 * config (core/config.ts computes them). The request holds them under
 * `kSettings`; body readers and tools read them there.
 */
export interface RouteSettings extends RequestLimits {
  /** The merged config they were derived from (frozen): `request.config`. */
  readonly config: Readonly<RouteConfig>;
  readonly stream: boolean;
  readonly showTracebacks: boolean;
  readonly processBody: boolean;
  readonly maxBuffered: number;
  readonly streamCommit: StreamCommit;
  readonly onStreamError: ((err: unknown) => string | Uint8Array | undefined) | undefined;
  /** `response.stream_nosniff`: streamed responses say `X-Content-Type-Options: nosniff`. */
  readonly streamNosniff: boolean;
  /** '' for none. */
  readonly serverHeader: string;
  /** `server.secret_keys` as bytes: the first signs cookies, every one verifies (empty: nothing is signed). */
  readonly secretKeys: readonly Buffer[];
}
