// Public exports, nothing else (test/exports.test.ts pins the list).
export { App } from './app.js';
export { serve, quickstart, type ServeOptions, type RunningServer } from './server.js';
export { expose, exposed, type Handler } from './expose.js';
export type { Context } from './context.js';
export { Request, RequestAbortedError, type AbortCode, type Params, type ParamValue } from './request.js';
export { Response, Headers, type CookieOptions } from './response.js';
export { HTTPError, NotFound, HTTPRedirect, InternalRedirect, HeadersSentError, DrupeError, BodyTypeError, errorCodes, type DrupeErrorCode } from './errors.js';
export { json, JsonBody } from './body.js';
export { serveFile, serveStream, FileBody, StreamBody, type ServeFileOptions, type ServeStreamOptions } from './file.js';
export { ObjectDispatcher, MethodDispatcher, type Dispatcher, type Found, type CpDispatch } from './dispatch.js';
export { defineTool, type PlannedRoute, type Tool } from './tool.js';
export type { CheckPassword } from './tools/auth_basic.js';
export { HOOK_POINTS, type HookPoint, type HookFn, type HookEntry } from './hooks.js';
export type { Config, Environment, ErrorPage, ErrorPageInfo, StreamCommit } from './config.js';
export { UploadedFile } from './upload.js';
export { sse, SseBody, formatEvent, type SseMessage, type SseOptions } from './sse.js';
export { sleep, abortable } from './abort.js';
