// Members of Request only Drupe's own layers use, keyed by symbols that the public
// entry point does not export (docs/architecture.md, "Public and internal").
/** The route's settings (`RouteSettings`), set by the lifecycle once the route is known. */
export const kSettings = Symbol('drupe.request.settings');
/** true at an index handler, false at another handler, null for default/none (tools.trailing_slash, `url()`). */
export const kIsIndex = Symbol('drupe.request.isIndex');
export const kPinRemote = Symbol('drupe.request.pinRemote');
export const kSetForwarded = Symbol('drupe.request.setForwarded');
export const kOwnParams = Symbol('drupe.request.ownParams');
export const kAbort = Symbol('drupe.request.abort');
export const kContinuePending = Symbol('drupe.request.continuePending');
export const kProcessForm = Symbol('drupe.request.processForm');
export const kRedirectTo = Symbol('drupe.request.redirectTo');
export const kHasTempFiles = Symbol('drupe.request.hasTempFiles');
export const kCleanup = Symbol('drupe.request.cleanup');
export const kHostField = Symbol('drupe.request.hostField');
/** tools.sessions hands the request its session. */
export const kSetSession = Symbol('drupe.request.setSession');
/** The pipeline reads a declared JSON body as a Wait (json-wait.ts); these two fill what json() gives later. */
export const kJsonWait = Symbol('drupe.request.jsonWait');
export const kParseJson = Symbol('drupe.request.parseJson');
export const kJsonSettled = Symbol('drupe.request.jsonSettled');
/** The JSON body's text names no key that could reach a prototype (json-body.ts): validation need not walk its value. */
export const kJsonPlainKeys = Symbol('drupe.request.jsonPlainKeys');
