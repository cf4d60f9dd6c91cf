/**
 * drupe/testing — a test client that talks HTTP/1.x over raw `node:net`
 * sockets, so tests observe framing exactly as the server sent it: chunk
 * boundaries, close-delimited bodies, truncation, resets; and an HTTP/2
 * client (`h2Request`) that tells END_STREAM from RST_STREAM and GOAWAY.
 *
 * Every wait has a timeout (default 5000 ms), so a test can never hang; the
 * client's sockets are unref'd, so a forgotten one never keeps the process
 * alive. Depends on nothing else in Drupe.
 *
 * The public entry of 'drupe/testing': test/exports.test.ts pins the list.
 */
export { parseResponses, parseResponsesDetailed, type Framing, type ParsedResponse, type ParseOptions } from './testing/response-parser.js';
export { rawRequest, type RawRequestOptions, type RawResult } from './testing/raw-request.js';
export { streamRequest, type StreamRequestOptions, type StreamingResponse, type StreamResult, type BodyChunk } from './testing/stream-request.js';
export { parseEventStream, type SseEvent } from './testing/sse-parser.js';
export { h2Connect, type H2ConnectOptions, type H2Session, type H2SessionState } from './testing/h2-session.js';
export { h2Request, type H2RequestOptions, type H2Response, type H2Result, type H2StreamEnd } from './testing/h2-request.js';
