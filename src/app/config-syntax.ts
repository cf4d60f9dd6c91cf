/**
 * The text of a config file in CherryPy's format, read into entries with
 * their line numbers (no validation of keys here: config-file.ts does that).
 *
 *   [global]
 *   server.socket_port = 8080
 *   # a comment, ; another
 *   [/static]
 *   tools.staticdir.on = True
 *   tools.staticdir.dir = "public"
 *
 * Values are JSON literals, plus Python's `True`, `False`, `None`,
 * single-quoted strings and trailing commas in lists and objects, so a file
 * written for CherryPy loads. A comment is a whole line starting with `#`
 * or `;`: as in CherryPy, text after a value is part of the value.
 */
import { DrupeError } from '../lib/errors.js';

export interface ConfigEntry {
  key: string;
  value: unknown;
  line: number;
}

export interface ConfigSection {
  /** `global` or a path starting with `/`. */
  name: string;
  /** The line of the section's first header. */
  line: number;
  entries: ConfigEntry[];
}

function malformed(file: string, line: number, why: string): DrupeError {
  return new DrupeError('DRUPE_ERR_CONFIG_FILE', `${file}:${line}: ${why}`);
}

/** Sections in the order their first header appears; a repeated header adds to its section. */
export function parseConfigText(text: string, file: string): ConfigSection[] {
  const sections = new Map<string, ConfigSection>();
  let current: ConfigSection | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw malformed(file, n, `section header ${JSON.stringify(line)} has no closing ']'`);
      const name = line.slice(1, -1).trim();
      if (name !== 'global' && !name.startsWith('/')) {
        throw malformed(file, n, `section [${name}]: expected [global] or a path starting with '/'`);
      }
      current = sections.get(name);
      if (current === undefined) sections.set(name, (current = { name, line: n, entries: [] }));
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw malformed(file, n, `expected 'key = value', a [section] header or a comment, got ${JSON.stringify(line)}`);
    const key = line.slice(0, eq).trim();
    if (key === '') throw malformed(file, n, "no key before '='");
    if (current === undefined) throw malformed(file, n, `key '${key}' is outside any section: put it under [global] or a [/path]`);
    const source = line.slice(eq + 1).trim();
    if (current.entries.some((e) => e.key === key)) {
      throw malformed(file, n, `key '${key}' is set twice in [${current.name}]`);
    }
    let value: unknown;
    try {
      value = parseValue(source);
    } catch (err) {
      throw malformed(file, n, `key '${key}': ${(err as Error).message}`);
    }
    current.entries.push({ key, value, line: n });
  }
  return [...sections.values()];
}

/** One value: JSON, or a Python literal rewritten to JSON. */
export function parseValue(source: string): unknown {
  if (source === '') throw new Error('no value after \'=\' (write "" for an empty string)');
  try {
    return JSON.parse(source);
  } catch {
    // Not JSON: try it as a Python literal.
  }
  let json: string;
  try {
    json = pythonToJson(source);
    return JSON.parse(json);
  } catch (err) {
    const hint = /\s[#;]/.test(source) ? ' (comments go on a line of their own)' : /^[A-Za-z_./]/.test(source) && !/^(True|False|None|true|false|null)\b/.test(source) ? ' (a string must be quoted)' : '';
    throw new Error(`${JSON.stringify(source)} is not a JSON value or a Python literal${hint}${err instanceof PythonSyntaxError ? `: ${err.message}` : ''}`);
  }
}

class PythonSyntaxError extends Error {}

const WORDS: Record<string, string> = { True: 'true', False: 'false', None: 'null', true: 'true', false: 'false', null: 'null' };
const PY_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

/** Rewrite Python's literal syntax (True/False/None, 'strings', trailing commas) as JSON; JSON.parse judges the rest. */
function pythonToJson(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' || c === "'") {
      let text = '';
      let j = i + 1;
      for (; j < s.length && s[j] !== c; j++) {
        if (s[j] === '\\') {
          const e = s[j + 1];
          if (e === undefined) break;
          if (c === '"' && e === 'u') { text += JSON.parse(`"${s.slice(j, j + 6)}"`) as string; j += 5; continue; }
          const to = PY_ESCAPES[e];
          if (to === undefined) throw new PythonSyntaxError(`unsupported escape '\\${e}'`);
          text += to;
          j++;
        } else {
          text += s[j];
        }
      }
      if (j >= s.length) throw new PythonSyntaxError('unterminated string');
      out += JSON.stringify(text);
      i = j + 1;
    } else if (/[0-9]/.test(c)) {
      const num = /^[0-9][0-9.eE+-]*/.exec(s.slice(i))![0]; // so the 'e' of 1e5 is not read as a name
      out += num;
      i += num.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))![0];
      const to = WORDS[word];
      if (to === undefined) throw new PythonSyntaxError(`unknown name '${word}'`);
      out += to;
      i += word.length;
    } else if (c === ',' && /^,\s*[\]}]/.test(s.slice(i))) {
      i++; // Python allows a trailing comma; JSON does not.
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
