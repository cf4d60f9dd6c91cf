// The demo's API section (examples/demo/api.ts) over a real socket: a JSON resource
// declared with zod schemas, its OpenAPI document served at /api/openapi.json (valid
// against the OpenAPI 3.1 schema), and its errors as problem+json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidOpenAPI } from './openapi-valid.js';
import { startApp, get } from './helpers/server.js';
import { demoDataDir } from './helpers/demo.js';

type Doc = { paths: Record<string, Record<string, { parameters?: { name: string; in: string; required: boolean }[]; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> }; responses: Record<string, unknown> }>> };

test("the demo's API: its OpenAPI document, its notes as JSON, its errors as problem+json", async (t) => {
  const { Root, sections, globalConfig } = await import('../examples/demo/site.js');
  const server = await startApp(new Root({ dataDir: demoDataDir(t) }), sections, globalConfig);
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

  const post = (body: string): ReturnType<typeof get> => get(`${server.url}/api/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  const added = await post('{"text":"  buy milk  ","tags":["home"]}');
  assert.equal(added.status, 201);
  assert.deepEqual(JSON.parse(added.text), { id: 2, text: 'buy milk', tags: ['home'] }, 'the schema trimmed the text');
  assert.deepEqual(JSON.parse((await get(`${server.url}/api/notes/2`)).text), { id: 2, text: 'buy milk', tags: ['home'] });
  assert.deepEqual(JSON.parse((await get(`${server.url}/api/notes?tag=home`)).text).map((n: { id: number }) => n.id), [2]);

  const invalid = await post('{"text":"","tags":"home"}');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.headers.get('content-type'), 'application/problem+json');
  const failed = JSON.parse(invalid.text) as { status: number; errors: { location: string; path: string; message: string }[] };
  assert.equal(failed.status, 400);
  assert.deepEqual(failed.errors.map((e) => [e.location, e.path]).sort(), [['body', 'tags'], ['body', 'text']]);

  const badId = await get(`${server.url}/api/notes/abc`);
  assert.equal(badId.headers.get('content-type'), 'application/problem+json');
  assert.equal(badId.status, 404, 'args that fail their schema name nothing');
  assert.deepEqual((JSON.parse(badId.text) as { errors: { location: string }[] }).errors.map((e) => e.location), ['args']);
  assert.deepEqual(Object.keys(doc.paths['/api/notes/{arg0}']!.get!.responses).sort(), ['200', '400', '404', 'default'], 'the document lists them');

  const method = await get(`${server.url}/api/notes`, { method: 'PUT' });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get('content-type'), 'application/problem+json');
  assert.equal(method.headers.get('allow'), 'GET, POST, DELETE, HEAD');
});
