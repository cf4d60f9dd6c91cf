// Public exports, nothing else (test/exports.test.ts pins the list).
export { App } from './app/app.js';
export type { FetchInfo } from './app/fetch.js';
export type { Inject, InjectOptions } from './app/inject.js';
export type { InjectResult, InjectHeaders } from './app/inject-result.js';
export { loadConfig, parseConfig, type LoadedConfig } from './app/config-file.js';
export { serve, quickstart, serverPlugin, type ServeOptions, type RunningServer, type ServerPlugin } from './app/server.js';
export { Tree } from './app/tree.js';
export type { OpenAPIDocument, OpenAPIOptions, ToJSONSchema, JSONSchema } from './core/openapi.js';
export { workerPool, runAsWorker, workerFailed, type WorkerPool, type WorkerPoolOptions, type RestartPolicy } from './app/workers.js';
export {
  Engine, engine,
  type EngineState, type EngineChannel, type EngineChannels, type EngineListener, type EnginePlugin, type EngineOptions,
} from './app/engine.js';
export { expose, exposed, type Handler, type ExposeWebSocketDecorator, type ExposeConfig, type InputDeclaration } from './core/expose.js';
export { ValidationError, type ValidationIssue, type ValidationLocation } from './core/validation-error.js';
export type { StandardSchemaV1 } from './lib/standard-schema.js';
export type { WebSocketHandler } from './core/websocket.js';
export type { WebSocketConnection, WebSocketMessage, WebSocketClose } from './core/websocket-connection.js';
export type { Context } from './http/request.js';
export { Request, type Params, type ParamValue } from './http/request.js';
export { Response, Headers, type CookieOptions } from './http/response.js';
export {
  HTTPError, NotFound, HTTPRedirect, InternalRedirect, HeadersSentError, DrupeError, BodyTypeError, RequestAbortedError, WorkerStartError, WorkerCrashLoopError, errorCodes,
  type AbortCode, type DrupeErrorCode, type HTTPErrorStatus,
} from './lib/errors.js';
export { json, JsonBody } from './body/body.js';
export { serveFile, FileBody, type ServeFileOptions } from './body/file.js';
export { serveStream, StreamBody, type ServeStreamOptions } from './body/stream-body.js';
export { ObjectDispatcher, MethodDispatcher, type Dispatcher, type Found, type CpDispatch } from './core/dispatch.js';
export { defineTool, type PlannedRoute, type Tool } from './core/tool.js';
export type { CheckPassword } from './tools/auth_basic.js';
export { acceptedMedia } from './tools/accept.js';
export type { ErrorFormat, ProblemDetails, ProblemFieldError } from './core/problem.js';
export { HOOK_POINTS, type HookPoint, type HookFn, type HookEntry } from './core/hooks.js';
export type { Config, Environment, ErrorPage, ErrorPageInfo, StreamCommit } from './core/config.js';
export { UploadedFile } from './http/upload.js';
export { sse, SseBody, formatEvent, type SseMessage, type SseOptions } from './body/sse.js';
export { sleep, abortable } from './lib/abort.js';
export type { Session } from './http/session.js';
export {
  SessionStoreUnavailableError, SessionLockTimeoutError, SessionTooLargeError,
  type SessionStore, type SessionData, type SessionLock,
} from './sessions/store.js';
export { ramStore, type RamStoreOptions } from './sessions/ram-store.js';
export { fileStore, type FileStoreOptions } from './sessions/file-store.js';
export { redisStore, type RedisStoreOptions } from './sessions/redis-store.js';
export type { SessionsOptions } from './tools/sessions.js';
