// The validate scenario's request and its schema, the same for every server: a POST of a small
// JSON object, validated (strings with lengths and a pattern, an integer in a range, a short list)
// and answered with a small JSON object.
export const VALIDATE_BODY = JSON.stringify({ name: 'Ada Lovelace', email: 'ada@example.com', age: 36, tags: ['math', 'poetry'] });

/** The schema as JSON Schema, as Fastify takes it (its Ajv compiles it once at start-up). */
export const VALIDATE_JSON_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    email: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 10 },
  },
  required: ['name', 'email', 'age', 'tags'],
};
export const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;
