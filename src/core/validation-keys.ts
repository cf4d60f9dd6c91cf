import type { StandardSchemaV1 } from '../lib/standard-schema.js';

/** The params a `params` schema names: those it requires, and (for a closed object) all it accepts. */
export interface ParamKeys {
  readonly required: readonly string[];
  /** Every param the schema accepts, or null when it accepts others too. */
  readonly known: ReadonlySet<string> | null;
}

/** What Standard JSON Schema adds under `~standard` (the spec's companion interface; only `input` is used). */
interface JsonSchemaConverter {
  readonly input: (options: { readonly target: string }) => Record<string, unknown>;
}

/**
 * The params a schema names, read once from the JSON Schema of its input
 * when the library offers one (Standard JSON Schema's `~standard.jsonSchema`:
 * zod 4 does): with it a request's missing and unexpected params are
 * CherryPy's argument errors, found without running the schema. Null when
 * the library offers none, or the schema is not a plain object of params.
 */
export function paramKeysOf(schema: StandardSchemaV1): ParamKeys | null {
  const converter = (schema['~standard'] as { jsonSchema?: Partial<JsonSchemaConverter> }).jsonSchema;
  if (typeof converter !== 'object' || converter === null || typeof converter.input !== 'function') return null;
  let json: Record<string, unknown>;
  try {
    json = converter.input({ target: 'draft-2020-12' });
  } catch {
    return null; // a schema JSON Schema cannot express: the schema's own issues still answer
  }
  if (json.type !== 'object' || typeof json.properties !== 'object' || json.properties === null) return null;
  const required = Array.isArray(json.required) ? json.required.filter((k): k is string => typeof k === 'string') : [];
  const closed = json.additionalProperties === false && json.patternProperties === undefined;
  return Object.freeze({ required: Object.freeze(required), known: closed ? new Set(Object.keys(json.properties)) : null });
}
