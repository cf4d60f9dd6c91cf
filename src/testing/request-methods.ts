import { findHeadEnd, isChunked, joinFields, parseContentLength, parseFieldLines } from './http-fields.js';

/**
 * The request methods found in bytes a client sends (request lines, skipping
 * bodies framed by Content-Length or chunked). Stops at the first thing it
 * cannot follow.
 */
export function requestMethods(bytes: Buffer): string[] {
  const methods: string[] = [];
  let buf = bytes;
  for (;;) {
    let start = 0;
    while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
    buf = buf.subarray(start);
    const end = findHeadEnd(buf);
    if (end < 0) return methods;
    const lines = buf.subarray(0, end).toString('latin1').split(/\r?\n/).filter((l) => l !== '');
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) \S+ HTTP\/\d/.exec(lines[0] ?? '');
    if (!m) return methods;
    methods.push(m[1]!);
    const raw: Array<[string, string]> = [];
    parseFieldLines(lines.slice(1), raw);
    const headers = joinFields(raw);
    buf = buf.subarray(end);
    if (headers['transfer-encoding'] !== undefined && isChunked(headers['transfer-encoding'])) {
      for (;;) { // skip chunks, then trailers
        const nl = buf.indexOf(10);
        if (nl < 0) return methods;
        const size = parseInt(buf.subarray(0, nl).toString('latin1').trim(), 16);
        buf = buf.subarray(nl + 1);
        if (Number.isNaN(size)) return methods;
        if (size === 0) break;
        buf = buf.subarray(size);
        const crlf = buf.indexOf(10);
        if (crlf < 0) return methods;
        buf = buf.subarray(crlf + 1);
      }
      for (;;) {
        const nl = buf.indexOf(10);
        if (nl < 0) return methods;
        const empty = nl === 0 || (nl === 1 && buf[0] === 13);
        buf = buf.subarray(nl + 1);
        if (empty) break;
      }
    } else if (headers['content-length'] !== undefined) {
      const n = parseContentLength(headers['content-length']);
      if (n === undefined) return methods;
      buf = buf.subarray(n);
    }
  }
}
