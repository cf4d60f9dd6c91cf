// The demo's API section (examples/demo/api.ts) over a real socket: a JSON resource
// declared with zod schemas, its OpenAPI document served at /api/openapi.json (valid
// against the OpenAPI 3.1 schema), and its errors as problem+json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidOpenAPI } from './openapi-valid.js';
import { startApp, get } from './helpers/server.js';

type Doc = { paths: Record<string, Record<string, { parameters?: { name: string; in: string; required: boolean }[]; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> }; responses: Record<string, unknown> }>> };

test("the demo's API: its OpenAPI document, its notes as JSON, its errors as problem+json", async (t) => {
  const { Root, sections, globalConfig } = await import('../examples/demo/site.js');
  const server = await startApp(new Root(), sections, globalConfig);
  t.after(() => server.close());

  const spec = await get(`${server.url}/api/openapi.json`);
  assert.equal(spec.status, 200);
  assert.equal(spec.headers.get('content-type'), 'application/json');
  const doc = JSON.parse(spec.text) as Doc & { info: unknown };
  await assertValidOpenAPI(doc);
  assert.deepEqual(doc.info, { title: 'Drupe demo API', version: '1.0.0' });
  const api = Object.keys(doc.paths).filter((p) => p.startsWith('/api/'));
  assert.deepEqual(api, ['/api/notes', '/api/notes/{arg0}']);
  assert.deepEqual(Object.keys(doc.paths['/api/notes']!), ['get', 'post']);
  assert.deepEqual(Object.keys(doc.paths['/api/notes/{arg0}']!), ['get', 'delete']);
  assert.deepEqual(doc.paths['/api/notes']!.get!.parameters, [{ name: 'tag', in: 'query', required: false, schema: { type: 'string', maxLength: 20 } }]);
  const body = doc.paths['/api/notes']!.post!.requestBody!.content['application/json']!.schema;
  assert.deepEqual(Object.keys(body.properties ?? {}), ['text', 'tags']);
  assert.deepEqual(body.required, ['text']);
  assert.deepEqual(doc.paths['/api/notes/{arg0}']!.delete!.parameters?.map((p) => [p.name, p.in, p.required]), [['arg0', 'path', true]]);
  assert.ok(doc.paths['/'] !== undefined && doc.paths['/blog/{args}'] !== undefined, 'the HTML pages are listed too');

  const notes = await get(`${server.url}/api/notes`);
  assert.equal(notes.status, 200);
  assert.equal(notes.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(notes.text), [{ id: 1, text: 'Read /api/openapi.json', tags: ['demo'] }]);

  const missing = await get(`${server.url}/api/notes/99`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-type'), 'application/problem+json');
  const problem = JSON.parse(missing.text) as { status: number; title: string; detail: string };
  assert.equal(problem.status, 404);
  assert.equal(problem.detail, 'No note 99');

  const method = await get(`${server.url}/api/notes`, { method: 'PUT' });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get('content-type'), 'application/problem+json');
  assert.equal(method.headers.get('allow'), 'GET, POST, DELETE, HEAD');
});
