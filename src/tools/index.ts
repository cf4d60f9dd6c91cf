import type { HookPoint } from '../core/hook-points.js';
import type { AnyTool, ToolBehaviour } from '../core/tool.js';
import { accept } from './accept.js';
import { allow } from './allow.js';
import { authBasic } from './auth_basic.js';
import { caching, cachingTee } from './caching.js';
import { cors } from './cors.js';
import { etags } from './etags.js';
import { expires } from './expires.js';
import { gzip } from './gzip.js';
import { jsonIn } from './json_in.js';
import { jsonOut } from './json_out.js';
import { openapi } from './openapi.js';
import { proxy } from './proxy.js';
import { responseHeaders } from './response_headers.js';
import { releaseSession, sessions } from './sessions.js';
import { staticdir } from './staticdir.js';
import { staticfile } from './staticfile.js';
import { trailingSlash } from './trailing_slash.js';

function place<O extends object, P>(name: string, point: HookPoint, priority: number, failsafe: boolean, behaviour: ToolBehaviour<O, P>): AnyTool {
  return Object.freeze({ ...behaviour, name, point, priority, failsafe }) as unknown as AnyTool;
}

/**
 * Every built-in tool, where it runs and in what order (lower priority
 * first within a point; equal priorities keep config order). The app
 * registers them, so their names are taken before any `defineTool`.
 */
export const builtinTools: readonly AnyTool[] = Object.freeze([
  //    name                point                  priority failsafe
  // First of all: every later tool, the redirects and the log see the client's view.
  place('proxy',            'on_start_resource',   10, false, proxy),
  // A preflight is answered before the guards: browsers send it without credentials.
  place('cors',             'on_start_resource',   20, false, cors),
  place('allow',            'on_start_resource',   40, false, allow),
  // CherryPy's point; after allow, so a method refused is a 405 before any 406.
  place('accept',           'on_start_resource',   45, false, accept),
  place('response_headers', 'on_start_resource',   50, false, responseHeaders),
  // CherryPy's point: the body is read before form processing would look at it.
  place('json_in',          'before_request_body', 30, false, jsonIn),
  // CherryPy's place: first of the before_handler tools, before static files and redirects.
  place('auth_basic',       'before_handler',       1, false, authBasic),
  place('trailing_slash',   'before_handler',      20, false, trailingSlash),
  // After the guards and redirects (nothing locked for a request they answer), before static files and user hooks (which may read the session).
  place('sessions',         'before_handler',      30, false, { ...sessions, also: [{ point: 'on_end_request', priority: 30, failsafe: true, run: releaseSession }] }),
  // CherryPy's two hooks. Served before the handler: after auth_basic, so a stored page never
  // skips the guard, and the redirects; before static files (CherryPy ties them all at 50).
  // Collected last of before_finalize, after etags and gzip: what is stored is what was sent.
  place('caching',          'before_handler',      40, false, { ...caching, also: [{ point: 'before_finalize', priority: 100, run: cachingTee }] }),
  place('staticdir',        'before_handler',      50, false, staticdir),
  place('staticfile',       'before_handler',      50, false, staticfile),
  // With the static files: after the guards (auth_basic can protect the document), before json_out.
  place('openapi',          'before_handler',      50, false, openapi),
  // Last of the before_handler tools: a static file or a redirect answers first.
  place('json_out',         'before_handler',      90, false, jsonOut),
  place('expires',          'before_finalize',     50, false, expires),
  place('etags',            'before_finalize',     75, false, etags),
  // After the tools that replace the body (etags): it wraps them all.
  place('gzip',             'before_finalize',     90, false, gzip),
]);
