// The validate scenario's schema in each Standard Schema library the bench runs (the same rules
// as VALIDATE_JSON_SCHEMA): shared by the Drupe server and the raw node:http reference.
import { z } from 'zod';
import * as v from 'valibot';
import { type } from 'arktype';
import { EMAIL_PATTERN } from './validate-common.mjs';

export const schemas = {
  zod: () => z.object({
    name: z.string().min(1).max(100),
    email: z.string().regex(EMAIL_PATTERN),
    age: z.number().int().min(0).max(150),
    tags: z.array(z.string()).max(10),
  }),
  valibot: () => v.object({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
    email: v.pipe(v.string(), v.regex(EMAIL_PATTERN)),
    age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(150)),
    tags: v.pipe(v.array(v.string()), v.maxLength(10)),
  }),
  // arktype compiles a schema into a JavaScript function when it is defined, as Ajv compiles JSON Schema.
  arktype: () => type({
    name: '1 <= string <= 100',
    email: EMAIL_PATTERN,
    age: '0 <= number.integer <= 150',
    tags: 'string[] <= 10',
  }),
};
