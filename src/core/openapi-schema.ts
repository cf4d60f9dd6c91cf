import type { JSONSchema, ToJSONSchema } from './openapi-types.js';

type SchemaObject = { readonly [keyword: string]: unknown };

/** Standard JSON Schema's converter, as a schema library offers it under `~standard.jsonSchema`. */
interface JSONSchemaConverter {
  readonly input?: unknown;
  readonly output?: unknown;
}

function isObject(v: unknown): v is SchemaObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where the document keeps the definitions a converted schema carries
 * (`$defs`): a schema inside an OpenAPI document resolves `#/…` against the
 * document, so they move to `components.schemas` under unique names.
 */
export class SchemaStore {
  readonly schemas: Record<string, JSONSchema> = {};

  /** A name not taken yet, from `hint` (letters, digits, '_', '.', '-' as components allow). */
  name(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.-]/g, '_') || 'Schema';
    let name = base;
    for (let n = 2; Object.hasOwn(this.schemas, name); n++) name = `${base}_${n}`;
    return name;
  }

  /**
   * The JSON Schema of a Standard Schema (the JSON a client sends: `input`),
   * with its definitions moved into the document. `hint` names them.
   */
  convert(schema: object, io: 'input' | 'output', convert: ToJSONSchema | undefined, hint: string): JSONSchema {
    let raw: JSONSchema;
    try {
      raw = jsonSchemaOf(schema, io, convert);
    } catch (err) {
      // A type JSON Schema cannot say (a date, a transform): the document still stands, and says why.
      return { description: `No JSON Schema: ${err instanceof Error ? err.message : String(err)}` };
    }
    return this.#hoist(raw, hint);
  }

  #hoist(raw: JSONSchema, hint: string): JSONSchema {
    if (!isObject(raw)) return raw;
    const { $schema: _dialect, $defs, definitions, ...rest } = raw;
    const renamed = new Map<string, string>();
    const pending: [string, unknown][] = [];
    for (const [prefix, defs] of [['#/$defs/', $defs], ['#/definitions/', definitions]] as const) {
      if (!isObject(defs)) continue;
      for (const [key, def] of Object.entries(defs)) {
        const name = this.name(`${hint}.${key}`);
        this.schemas[name] = true; // taken now, filled below
        renamed.set(prefix + escapePointer(key), name);
        pending.push([name, def]);
      }
    }
    // A reference to the root itself ('#': a recursive schema) needs the root among the components too.
    const selfName = refersTo(rest, '#') ? this.name(hint) : undefined;
    if (selfName !== undefined) {
      this.schemas[selfName] = true;
      renamed.set('#', selfName);
    }
    const rewrite = (v: unknown, depth: number): unknown => {
      if (depth > 200) return v;
      if (Array.isArray(v)) return v.map((x) => rewrite(x, depth + 1));
      if (!isObject(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const target = k === '$ref' && typeof x === 'string' ? renamed.get(x) : undefined;
        out[k] = target !== undefined ? `#/components/schemas/${target}` : rewrite(x, depth + 1);
      }
      return out;
    };
    for (const [name, def] of pending) this.schemas[name] = rewrite(def, 0) as JSONSchema;
    const root = rewrite(rest, 0) as JSONSchema;
    if (selfName === undefined) return root;
    this.schemas[selfName] = root;
    return { $ref: `#/components/schemas/${selfName}` };
  }
}

/**
 * Standard JSON Schema first (`~standard.jsonSchema.input`/`output`, draft
 * 2020-12, the dialect of OpenAPI 3.1), then the user's converter; a
 * schema neither can read is `{}`: any value, which is still true.
 */
function jsonSchemaOf(schema: object, io: 'input' | 'output', convert: ToJSONSchema | undefined): JSONSchema {
  const std: unknown = (schema as { '~standard'?: unknown })['~standard'];
  const converter = isObject(std) ? (std.jsonSchema as JSONSchemaConverter | undefined) : undefined;
  const fn = isObject(converter) ? converter[io] : undefined;
  if (typeof fn === 'function') {
    const out: unknown = fn.call(converter, { target: 'draft-2020-12' });
    if (isObject(out) || typeof out === 'boolean') return out;
  }
  if (convert !== undefined) {
    const out = convert(schema, io);
    if (isObject(out) || typeof out === 'boolean') return out;
  }
  return {};
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function refersTo(v: unknown, ref: string, depth = 0): boolean {
  if (depth > 200) return false;
  if (Array.isArray(v)) return v.some((x) => refersTo(x, ref, depth + 1));
  if (!isObject(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    if (k === '$ref' ? x === ref : refersTo(x, ref, depth + 1)) return true;
  }
  return false;
}
