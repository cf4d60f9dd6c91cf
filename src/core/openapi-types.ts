/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1's Schema Object): an object or a boolean. */
export type JSONSchema = boolean | { readonly [keyword: string]: unknown };

/** One parameter of an operation: a query parameter (from `params`) or a path parameter (from `args`). */
export interface OpenAPIParameter {
  readonly name: string;
  readonly in: 'query' | 'path';
  readonly required: boolean;
  readonly description?: string;
  readonly schema: JSONSchema;
  readonly style?: 'form';
  readonly explode?: boolean;
}

export interface OpenAPIMediaType {
  readonly schema: JSONSchema;
}

export interface OpenAPIRequestBody {
  readonly required: boolean;
  readonly content: Readonly<Record<string, OpenAPIMediaType>>;
}

export interface OpenAPIResponse {
  readonly description: string;
  readonly content?: Readonly<Record<string, OpenAPIMediaType>>;
}

export interface OpenAPIReference {
  readonly $ref: string;
}

export interface OpenAPIOperation {
  readonly operationId: string;
  readonly parameters?: readonly OpenAPIParameter[];
  readonly requestBody?: OpenAPIRequestBody;
  readonly responses: Readonly<Record<string, OpenAPIResponse | OpenAPIReference>>;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

/** The operations of one path, by lower-case method. */
export type OpenAPIPathItem = { readonly [method in 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch']?: OpenAPIOperation };

/** The OpenAPI 3.1 document `app.openapi()` returns: a plain object, ready for `JSON.stringify`. */
export interface OpenAPIDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths: Readonly<Record<string, OpenAPIPathItem>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JSONSchema>>;
    readonly responses: Readonly<Record<string, OpenAPIResponse>>;
    readonly securitySchemes?: Readonly<Record<string, { readonly type: 'http'; readonly scheme: string }>>;
  };
}

/**
 * Turns a schema that offers no Standard JSON Schema (`~standard.jsonSchema`)
 * into JSON Schema: valibot's `toJsonSchema`, zod's `z.toJSONSchema`, … .
 * Return undefined to leave it to Drupe (an empty schema: any value).
 */
export type ToJSONSchema = (schema: object, io: 'input' | 'output') => object | boolean | undefined;

/** What `app.openapi(options)` and `tools.openapi` take. */
export interface OpenAPIOptions {
  /** `info.title` ('Drupe application' unless set). */
  readonly title?: string;
  /** `info.version`, the API's version ('0.0.0' unless set). */
  readonly version?: string;
  readonly description?: string;
  /** The converter for schemas without Standard JSON Schema. */
  readonly jsonSchema?: ToJSONSchema;
}
