import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPError } from '../src/lib/errors.js';
import { addParam, createParams, parseFormInto, stringifyParams, type Params } from '../src/http/form.js';
import { UploadedFile } from '../src/http/upload.js';

const limits = { maxParams: 1000 };

function parse(text: string, where?: 'query string' | 'form body'): Params {
  const params = createParams();
  parseFormInto(params, text, limits, where);
  return params;
}

function rejects400(text: string, message: RegExp, where?: 'query string' | 'form body'): void {
  assert.throws(
    () => parse(text, where),
    (err: unknown) => err instanceof HTTPError && err.status === 400 && message.test(err.message),
  );
}

test('simple pairs, + as space, percent-decoding, empty pairs and bare keys', () => {
  const p = parse('a=1&b=hello+world&c=%E2%82%AC%20x&&d&e=&=v&f=a=b');
  assert.deepEqual({ ...p }, { a: '1', b: 'hello world', c: '€ x', d: '', e: '', '': 'v', f: 'a=b' });
});

test('encoded plus stays a plus; keys decode too', () => {
  const p = parse('x%2By=1%2B1&my+key=v');
  assert.equal(p['x+y'], '1+1');
  assert.equal(p['my key'], 'v');
});

test('repeated keys become arrays in order', () => {
  const p = parse('a=1&b=2&a=3&a=4');
  assert.deepEqual(p.a, ['1', '3', '4']);
  assert.equal(p.b, '2');
});

test('empty input gives an empty params object', () => {
  assert.deepEqual(Object.keys(parse('')), []);
  assert.deepEqual(Object.keys(parse('&&&')), []);
});

test('params have no prototype and prototype-ish keys are plain keys', () => {
  const p = parse('__proto__[x]=1&constructor[prototype][x]=1&__proto__=x&constructor=c&toString=t&hasOwnProperty=h');
  assert.equal(Object.getPrototypeOf(p), null);
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).x, undefined);
  assert.equal(p['__proto__[x]'], '1');
  assert.equal(p['constructor[prototype][x]'], '1');
  assert.equal(p.__proto__, 'x');
  assert.equal(p.constructor, 'c');
  assert.equal(p.toString, 't');
  assert.deepEqual(Object.keys(p).sort(), [
    '__proto__', '__proto__[x]', 'constructor', 'constructor[prototype][x]', 'hasOwnProperty', 'toString',
  ]);
});

test('repeated __proto__ becomes an own array, still no pollution', () => {
  const p = parse('__proto__=a&__proto__=b');
  assert.deepEqual(p.__proto__, ['a', 'b']);
  assert.equal(Object.getPrototypeOf(p), null);
});

test('addParam (as multipart calls it) keeps __proto__ and Object.prototype names as own keys', () => {
  const p = createParams();
  addParam(p, '__proto__', 'x');
  assert.equal(Object.getPrototypeOf(p), null);
  assert.equal(Object.hasOwn(p, '__proto__'), true);
  addParam(p, 'toString', 'y'); // a key of its own: nothing inherited is read, called or replaced
  addParam(p, 'toString', 'z');
  assert.deepEqual(p.toString, ['y', 'z']);
  assert.equal(typeof Object.prototype.toString, 'function');
  assert.deepEqual(Object.keys(p), ['__proto__', 'toString']);
});

test('a[length]=100000000 is just a key', () => {
  const p = parse('a=1&a[length]=100000000&a=2');
  assert.deepEqual(p.a, ['1', '2']);
  assert.equal(p['a[length]'], '100000000');
});

// Timeouts here are hang guards, not speed assertions: speed lives in bench/.
test('100,000 pairs are refused with a 400 after maxParams pairs at most', { timeout: 5000 }, () => {
  const text = 'a=1&'.repeat(100_000);
  const into = createParams();
  assert.throws(
    () => parseFormInto(into, text, { maxParams: 1000 }, 'form body'),
    (err: unknown) => err instanceof HTTPError && err.status === 400 && err.message === 'Too many parameters (limit 1000)',
  );
  // Stopped early: nothing past the limit was stored.
  assert.equal((into.a as string[]).length, 1000);
});

test('exactly maxParams pairs are accepted', () => {
  const p = createParams();
  parseFormInto(p, 'a=1&'.repeat(5), { maxParams: 5 });
  assert.equal((p.a as string[]).length, 5);
});

test('a long run of pairs without = stays linear', { timeout: 5000 }, () => {
  const p = createParams();
  const text = 'ab&'.repeat(200_000);
  parseFormInto(p, text, { maxParams: 1_000_000 }); // quadratic rescans for '=' would blow the timeout
  assert.equal((p.ab as string[]).length, 200_000);
});

test('invalid percent-encoding → 400 naming where', () => {
  rejects400('a=%zz', /^Invalid percent-encoding in query string$/);
  rejects400('a=%E0%A4%A', /^Invalid percent-encoding in query string$/);
  rejects400('a=%C3%28', /^Invalid percent-encoding in query string$/);
  rejects400('%zz=1', /^Invalid percent-encoding in form body$/, 'form body');
  rejects400('a=%', /percent-encoding/);
  rejects400('a=%ED%A0%80', /percent-encoding/); // an encoded surrogate is not UTF-8
  rejects400('a=%C0%AF', /percent-encoding/); // overlong
});

test('raw non-ASCII passes through', () => {
  assert.equal(parse('q=ñ€').q, 'ñ€');
});

test('stringifyParams: strings and arrays, files skipped, encoded', () => {
  const p = createParams();
  addParam(p, 'a', '1');
  addParam(p, 'a', 'x y&z');
  addParam(p, 'f', new UploadedFile({ name: 'f', filename: 'f.txt', type: 'text/plain', size: 1, data: Buffer.from('x') }));
  addParam(p, 'm', 'keep');
  addParam(p, 'm', new UploadedFile({ name: 'm', filename: 'm.txt', type: 'text/plain', size: 1, data: Buffer.from('x') }));
  addParam(p, 'é', '€');
  const s = stringifyParams(p);
  assert.equal(s, 'a=1&a=x%20y%26z&m=keep&%C3%A9=%E2%82%AC');
  // round trip
  const back = parse(s);
  assert.deepEqual({ ...back }, { a: ['1', 'x y&z'], m: 'keep', é: '€' });
});

test('stringifyParams accepts plain records and survives lone surrogates', () => {
  assert.equal(stringifyParams({ next: '/a?b=c', list: ['1', '2'] }), 'next=%2Fa%3Fb%3Dc&list=1&list=2');
  assert.equal(stringifyParams({ bad: 'x\uD800y' }), 'bad=x%EF%BF%BDy');
  assert.equal(stringifyParams({}), '');
});
