// tree.fetch (issue 16 part 4): several apps mounted at script names answer web Requests as
// serve(tree) answers node's, under node's own Request and Response: the longest whole-segment
// script name takes a path, `request.scriptName` is the mount point, a path no app takes gets a
// plain 404. Bun.serve and Deno.serve run the same in test/runtimes.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, HTTPRedirect, Tree, exposed, type Config, type Context } from '../src/index.js';
import { hostOf } from '../src/app/app.js';
import { within } from './helpers/async.js';

const BASE = 'http://example.test:8080';
const TEST: Config = { environment: 'test', 'log.screen': false };
const BOUNDED = { timeout: 30_000 };

const where = ({ request }: Context): string => `${request.scriptName}|${request.path}`;

function tree(): Tree {
  const t = new Tree()
    .mount(new App({
      index: exposed(() => 'site index'),
      default: exposed((ctx: Context) => `site default ${where(ctx)}`),
    }), '')
    .mount({
      index: exposed((ctx: Context) => `blog index ${where(ctx)}`),
      post: exposed((ctx: Context) => `blog post ${ctx.request.params.id} ${where(ctx)}`),
      here: exposed(({ request }: Context) => request.url()),
      relative: exposed(() => { throw new HTTPRedirect('post?id=7'); }),
      stream: exposed(async function* () { yield 'one;'; yield 'two'; }, { 'response.stream': true }),
    }, '/blog')
    .mount(new App({ index: exposed((ctx: Context) => `deep ${where(ctx)}`) }), '/blog/deep');
  t.configure(TEST);
  return t;
}

async function text(t: Tree, path: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await within(t.fetch(new Request(`${BASE}${path}`, init)), `fetch ${path}`);
  return { status: res.status, text: await within(res.text(), `body of ${path}`), headers: res.headers };
}

test('tree.fetch: the longest whole-segment script name takes the path; scriptName and path are the mount point and what is below it', BOUNDED, async () => {
  const t = tree();
  const cases: Array<[string, string]> = [
    ['/', 'site index'],
    ['/blog/', 'blog index /blog|/'],
    ['/blog/post?id=3', 'blog post 3 /blog|/post'],
    ['/blogger', 'site default |/blogger'],
    ['/blog/deep/', 'deep /blog/deep|/'],
  ];
  for (const [path, expected] of cases) {
    const res = await text(t, path);
    assert.equal(res.status, 200, path);
    assert.equal(res.text, expected, path);
  }
  // /blog/deeper is the blog's (a whole segment '/blog'), not the deep app's: the blog has no such handler.
  assert.equal((await text(t, '/blog/deeper')).status, 404);
  // URLs and redirects name the full path: the mount point without its slash is the app's index, one slash away.
  const bare = await within(t.fetch(new Request(`${BASE}/blog`)), '/blog');
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get('location'), `${BASE}/blog/`);
  await bare.body?.cancel();
  assert.equal((await text(t, '/blog/here')).text, `${BASE}/blog/here`);
  const redirect = await within(t.fetch(new Request(`${BASE}/blog/relative`, { redirect: 'manual' })), 'the redirect');
  assert.equal(redirect.status, 303);
  assert.equal(redirect.headers.get('location'), `${BASE}/blog/post?id=7`);
  await redirect.body?.cancel();
});

test('tree.fetch is bound, streams a streamed body, and a path no app takes gets a plain 404', BOUNDED, async () => {
  const t = new Tree().mount({ index: exposed(() => 'blog') }, '/blog').mount(new App({
    stream: exposed(async function* () { yield 'one;'; yield 'two'; }, { 'response.stream': true }),
  }), '/api');
  t.configure({ ...TEST, 'response.headers.server': 'Tested' });
  const bare = t.fetch;
  const streamed = await within(bare(new Request(`${BASE}/api/stream`)), 'the stream');
  assert.equal(streamed.status, 200);
  assert.equal(streamed.headers.get('content-length'), null);
  assert.equal(await within(streamed.text(), 'the streamed body'), 'one;two');
  for (const path of ['/', '/blogger', '/apix/stream', '/other/blog']) {
    const res = await text(t, path);
    assert.equal(res.status, 404, path);
    assert.equal(res.text, 'Not Found\n', path);
    assert.equal(res.headers.get('content-type'), 'text/plain;charset=utf-8');
    assert.equal(res.headers.get('content-length'), '10');
    assert.equal(res.headers.get('server'), 'Tested');
  }
  const head = await within(bare(new Request(`${BASE}/nowhere`, { method: 'HEAD' })), 'HEAD');
  assert.equal(head.status, 404);
  assert.equal(head.body, null);
  // A POST no app takes: its body is never read, the answer is the same.
  const post = await text(t, '/nowhere', { method: 'POST', body: 'ignored' });
  assert.equal(post.status, 404);
  assert.equal((await text(t, '/blog/')).text, 'blog');
});

test('mount() gives the app its script name for fetch; a tree with nothing mounted rejects', BOUNDED, async () => {
  const app = new App({ index: exposed((ctx: Context) => where(ctx)) });
  app.configure(TEST);
  new Tree().mount(app, '/docs');
  assert.equal(hostOf(app).scriptName, '/docs');
  await assert.rejects(new Tree().fetch(new Request(`${BASE}/`)), /the tree has no app mounted/);
});
