// Header-block helpers shared by the response parser and by requestMethods.

/** Index just past the blank line that ends a head (CRLF CRLF, tolerating bare LF), or -1. */
export function findHeadEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  const a = crlf < 0 ? Infinity : crlf + 4;
  const b = lf < 0 ? Infinity : lf + 2;
  const end = Math.min(a, b);
  return end === Infinity ? -1 : end;
}

/** Parse `name: value` lines (obs-fold continuation lines are joined). Returns an error message on a malformed line. */
export function parseFieldLines(lines: readonly string[], into: Array<[string, string]>): string | undefined {
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && into.length > 0) {
      const last = into[into.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line ${JSON.stringify(line)}`;
    into.push([line.slice(0, colon).trimEnd(), line.slice(colon + 1).trim()]);
  }
  return undefined;
}

/** Lower-case names; repeats joined with ', ' (set-cookie with '\n'). */
export function joinFields(raw: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of raw) {
    const name = rawName.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}${name === 'set-cookie' ? '\n' : ', '}${value}`;
  }
  return out;
}

/** A Content-Length value ("5" or a list of identical values "5, 5"); undefined when invalid. */
export function parseContentLength(value: string): number | undefined {
  const parts = value.split(',').map((s) => s.trim());
  if (!parts.every((p) => /^\d+$/.test(p) && p === parts[0])) return undefined;
  const n = Number(parts[0]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether the last transfer coding is chunked (what frames the message). */
export function isChunked(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return codings[codings.length - 1] === 'chunked';
}
