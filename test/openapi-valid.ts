// The OpenAPI tests' yardstick: a document is valid when the OpenAPI 3.1 schema
// accepts it (@seriousme/openapi-schema-validator, the specification's own JSON
// Schema) and every Schema Object in it is a valid JSON Schema 2020-12 whose
// `$ref`s resolve in the document (Ajv's 2020 draft: the OpenAPI schema checks
// only that a Schema Object is an object or a boolean).
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';

/** Every Schema Object the document holds, outside `components.schemas` (those are reached through them). */
function schemaObjects(doc: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      for (const p of (op.parameters as { schema: unknown }[] | undefined) ?? []) out.push(p.schema);
      const content = (op.requestBody as { content?: Record<string, { schema: unknown }> } | undefined)?.content ?? {};
      for (const m of Object.values(content)) out.push(m.schema);
    }
  }
  const components = doc.components as { schemas?: Record<string, unknown>; responses?: Record<string, { content?: Record<string, { schema: unknown }> }> };
  for (const r of Object.values(components.responses ?? {})) for (const m of Object.values(r.content ?? {})) out.push(m.schema);
  out.push(...Object.values(components.schemas ?? {}));
  return out;
}

export async function assertValidOpenAPI(doc: object): Promise<void> {
  // The validator may keep what it is given: hand it a copy.
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  const result = await new Validator().validate(copy);
  assert.equal(result.valid, true, `not a valid OpenAPI document: ${JSON.stringify(result.errors, null, 1)}`);
  assert.match(String(copy.openapi), /^3\.1\.\d+$/);

  // One JSON Schema holding every Schema Object under $defs, with `components` where
  // '#/components/schemas/…' points: the meta-schema checks each, compiling resolves the refs.
  const all = schemaObjects(copy);
  const wrapper = {
    components: { schemas: (copy.components as { schemas?: unknown }).schemas ?? {} },
    $defs: Object.fromEntries(all.map((s, i) => [`s${i}`, s])),
    anyOf: all.map((_, i) => ({ $ref: `#/$defs/s${i}` })),
  };
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  assert.equal(ajv.validateSchema(wrapper), true, `a Schema Object is not JSON Schema 2020-12: ${JSON.stringify(ajv.errors)}`);
  assert.doesNotThrow(() => ajv.compile(wrapper), 'every $ref of the Schema Objects resolves');
}
