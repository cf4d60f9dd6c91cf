import { DrupeError, HeadersSentError } from '../lib/errors.js';

// RFC 9110 token characters for names; values may hold any visible char,
// space and tab, but never CR, LF or NUL (that is how headers get split).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;
// What node:http accepts in a value (anything else makes writeHead throw at commit, which would cut the connection instead of a 500).
const NOT_FIELD_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

export function checkHeaderName(name: string): void {
  if (!TOKEN.test(name)) throw new DrupeError('DRUPE_ERR_INVALID_HEADER', `Invalid header name ${JSON.stringify(name)}`);
}

const NOT_ASCII_FIELD = /[^\t\x20-\x7e]/;

/** Tab, space and visible ASCII only: a value that is safe everywhere, with nothing to encode. */
export function isAsciiFieldValue(value: string): boolean {
  if (value.length > 64) return !NOT_ASCII_FIELD.test(value);
  // Most values are short (a media type, a length): a loop the compiler inlines costs less than calling the regular expression.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 9)) return false;
  }
  return true;
}

/** Throws for a value node would refuse or that could split a header; true when it holds Latin-1 beyond ASCII. */
export function checkHeaderValue(name: string, value: string): boolean {
  if (isAsciiFieldValue(value)) return false; // one test on the common path
  if (!NOT_FIELD_CHAR.test(value)) return true;
  if (BAD_VALUE.test(value)) {
    throw new DrupeError('DRUPE_ERR_INVALID_HEADER', `Header ${name} has a value with CR, LF or NUL in it`);
  }
  throw new DrupeError('DRUPE_ERR_INVALID_HEADER', `Header ${name} has a value with a control character or a character beyond Latin-1 in it (percent-encode it)`);
}

// Members only Drupe's own layers use (docs/architecture.md, "Public and internal").
/** Which of the headers the writer asks about on every response are set, as bits (`CONTENT_TYPE`, …). */
export const kFraming = Symbol('drupe.headers.framing');
/**
 * True once a value beyond ASCII was set: node writes headers as Latin-1,
 * so the writer must not let such a head travel glued to a UTF-8 string.
 */
export const kHasLatin1 = Symbol('drupe.headers.hasLatin1');
/**
 * The headers as the flat list `writeHead` takes (name, value, name,
 * value…; a repeated header's values as one array): node walks it more
 * cheaply than an object's keys.
 */
export const kToList = Symbol('drupe.headers.toList');
/** The response committed: every change from now on throws HeadersSentError (S2). */
export const kLock = Symbol('drupe.headers.lock');

/**
 * Bits of `Headers[kFraming]`: the headers the writer asks about on every
 * response, known without a lookup.
 */
export const CONTENT_TYPE = 1;
export const CONTENT_LENGTH = 2;
export const TRANSFER_ENCODING = 4;
export const SERVER = 8;
export const X_ACCEL_BUFFERING = 16;
export const CONNECTION = 32;
export const X_CONTENT_TYPE_OPTIONS = 64;
const FRAMING_BITS = new Map<string, number>([
  ['content-type', CONTENT_TYPE], ['content-length', CONTENT_LENGTH], ['transfer-encoding', TRANSFER_ENCODING],
  ['server', SERVER], ['x-accel-buffering', X_ACCEL_BUFFERING], ['connection', CONNECTION],
  ['x-content-type-options', X_CONTENT_TYPE_OPTIONS],
]);

/** The `framing` bit of a lower-case name, or 0. */
function framingBit(key: string): number {
  return FRAMING_BITS.get(key) ?? 0;
}

interface Key {
  /** The name in lower case. */
  readonly key: string;
  /** Its bit in `Headers[kFraming]`, or 0. */
  readonly bit: number;
}

// The names a response sets are few and mostly constant: each is checked and
// lower-cased once, not at every set (bounded, so names built from input cannot grow it).
const CHECKED_KEYS = new Map<string, Key>();
const CHECKED_KEYS_MAX = 512;

/** The lower-case key of a name about to be set; throws for an invalid name. */
function checkedKey(name: string): Key {
  let key = CHECKED_KEYS.get(name);
  if (key === undefined) {
    checkHeaderName(name);
    const lower = name.toLowerCase();
    key = { key: lower, bit: framingBit(lower) };
    if (CHECKED_KEYS.size < CHECKED_KEYS_MAX && name.length <= 64) CHECKED_KEYS.set(name, key);
  }
  return key;
}

/** The lower-case key for a lookup (an invalid name is simply not there). */
function keyOf(name: string): string {
  return CHECKED_KEYS.get(name)?.key ?? name.toLowerCase();
}

interface Entry { name: string; values: string[] }

// Shared by every Headers until its first write; never written to (#writable swaps it out first).
const EMPTY = new Map<string, Entry>();

/**
 * Response headers: case-insensitive names, validated values, order kept.
 * A value with CR or LF throws at the line that set it, so it can never
 * split a header on the wire.
 *
 * @example
 *   response.headers.set('Content-Type', 'text/plain');
 *   response.headers.append('Set-Cookie', 'a=1');
 */
export class Headers {
  // Most responses set no header at all: the map is made on the first write.
  #map: Map<string, Entry> = EMPTY;
  /** Set when the response commits: changes then throw. */
  #locked = false;
  #latin1 = false;
  #framing = 0;

  #checkWritable(action: string, name?: string): void {
    if (this.#locked) throw new HeadersSentError(name === undefined ? action : `${action} ${name}`);
  }

  [kLock](): void {
    this.#locked = true;
  }

  #writable(): Map<string, Entry> {
    if (this.#map === EMPTY) this.#map = new Map();
    return this.#map;
  }

  get(name: string): string | undefined {
    const key = keyOf(name);
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    return e.values.length === 1 ? e.values[0] : e.values.join(key === 'set-cookie' ? '\n' : ', ');
  }

  /** All values of a header, e.g. every `Set-Cookie`. */
  getAll(name: string): string[] {
    return this.#map.get(keyOf(name))?.values.slice() ?? [];
  }

  has(name: string): boolean {
    return this.#map.has(keyOf(name));
  }

  get [kHasLatin1](): boolean {
    return this.#latin1;
  }

  get [kFraming](): number {
    return this.#framing;
  }

  set(name: string, value: string | number): this {
    this.#checkWritable('set header', name);
    const v = typeof value === 'string' ? value : String(value);
    const k = checkedKey(name);
    if (checkHeaderValue(name, v)) this.#latin1 = true;
    this.#writable().set(k.key, { name, values: [v] });
    this.#framing |= k.bit;
    return this;
  }

  append(name: string, value: string | number): this {
    this.#checkWritable('append header', name);
    const v = typeof value === 'string' ? value : String(value);
    const k = checkedKey(name);
    if (checkHeaderValue(name, v)) this.#latin1 = true;
    const e = this.#map.get(k.key);
    if (e === undefined) this.#writable().set(k.key, { name, values: [v] });
    else e.values.push(v);
    this.#framing |= k.bit;
    return this;
  }

  delete(name: string): boolean {
    this.#checkWritable('delete header', name);
    const key = keyOf(name);
    this.#framing &= ~framingBit(key);
    return this.#map.delete(key);
  }

  /** Remove every header except those named (lower-case). */
  clear(keep: ReadonlySet<string> = new Set()): void {
    this.#checkWritable('clear headers');
    for (const key of this.#map.keys()) {
      if (!keep.has(key)) {
        this.#map.delete(key);
        this.#framing &= ~framingBit(key);
      }
    }
  }

  *entries(): IterableIterator<[string, string]> {
    for (const e of this.#map.values()) for (const v of e.values) yield [e.name, v];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  [kToList](): Array<string | string[]> {
    const out: Array<string | string[]> = [];
    for (const e of this.#map.values()) out.push(e.name, e.values.length === 1 ? e.values[0]! : e.values);
    return out;
  }

  get size(): number {
    return this.#map.size;
  }
}
