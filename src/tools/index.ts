import type { HookPoint } from '../core/hook-points.js';
import type { AnyTool, ToolBehaviour } from '../core/tool.js';
import { allow } from './allow.js';
import { authBasic } from './auth_basic.js';
import { cors } from './cors.js';
import { etags } from './etags.js';
import { expires } from './expires.js';
import { gzip } from './gzip.js';
import { jsonIn } from './json_in.js';
import { jsonOut } from './json_out.js';
import { proxy } from './proxy.js';
import { responseHeaders } from './response_headers.js';
import { sessions } from './sessions.js';
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
  place('response_headers', 'on_start_resource',   50, false, responseHeaders),
  // CherryPy's point: the body is read before form processing would look at it.
  place('json_in',          'before_request_body', 30, false, jsonIn),
  // CherryPy's place: first of the before_handler tools, before static files and redirects.
  place('auth_basic',       'before_handler',       1, false, authBasic),
  place('trailing_slash',   'before_handler',      20, false, trailingSlash),
  // After the guards and redirects (nothing locked for a request they answer), before static files and user hooks (which may read the session).
  place('sessions',         'before_handler',      30, false, sessions),
  place('staticdir',        'before_handler',      50, false, staticdir),
  place('staticfile',       'before_handler',      50, false, staticfile),
  // Last of the before_handler tools: a static file or a redirect answers first.
  place('json_out',         'before_handler',      90, false, jsonOut),
  place('expires',          'before_finalize',     50, false, expires),
  place('etags',            'before_finalize',     75, false, etags),
  // After the tools that replace the body (etags): it wraps them all.
  place('gzip',             'before_finalize',     90, false, gzip),
]);
