import type { InferOutput, StandardSchemaV1 } from '../lib/standard-schema.js';

/** What a handler may declare (`exposed(fn, { params, body, args })`): a Standard Schema for each, all optional. */
export interface InputDeclaration {
  readonly params?: StandardSchemaV1 | undefined;
  readonly body?: StandardSchemaV1 | undefined;
  readonly args?: StandardSchemaV1 | undefined;
}

/** The validated type of the declared schema at `K`, or `Else` when none is declared. */
export type Declared<D, K extends keyof InputDeclaration, Else> = D extends { readonly [P in K]: infer S extends StandardSchemaV1 } ? InferOutput<S> : Else;

