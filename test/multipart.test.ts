import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { HTTPError } from '../src/lib/errors.js';
import { createParams, type Params } from '../src/http/form.js';
import { parseMultipartInto, removeTempFiles, type MultipartLimits } from '../src/http/multipart.js';
import { UploadedFile } from '../src/http/upload.js';

const BOUNDARY = '----drupeTestBoundary7MA4YWxk';
const CT = `multipart/form-data; boundary=${BOUNDARY}`;
const limits: MultipartLimits = { maxParts: 100, maxFileSize: 1 << 20, maxFieldSize: 1024, spoolThreshold: 1024 };

type Part = { name: string; value: string | Buffer; filename?: string; type?: string; rawDisposition?: string };

function partBytes(p: Part): Buffer {
  const disp = p.rawDisposition ?? `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
  const head = `--${BOUNDARY}\r\nContent-Disposition: ${disp}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(p.value), Buffer.from('\r\n')]);
}

function body(parts: Part[]): Buffer {
  return Buffer.concat([...parts.map(partBytes), Buffer.from(`--${BOUNDARY}--\r\n`)]);
}

/** A source delivering `buf` in `size`-byte chunks, so boundaries fall across chunks. */
function chunked(buf: Buffer, size = 97): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
    { objectMode: false },
  );
}

/**
 * Like chunked(), but each chunk waits for the event loop to come round first, so the
 * parser's file reader has taken the chunks before it (and spooled them) by the time a
 * later chunk trips a limit or the body ends. Without that, whether the reader sees a
 * chunk before the failure is node's scheduling: on node 22 and later a synchronous
 * source is read to the failure before the reader's first turn, and no temp file is made.
 */
function paced(buf: Buffer, size: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < buf.length; i += size) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield buf.subarray(i, i + size);
      }
    })(),
    { objectMode: false },
  );
}

async function parse(buf: Buffer | Readable, l: MultipartLimits = limits, tempFiles: string[] = []): Promise<Params> {
  const params = createParams();
  await parseMultipartInto(params, Buffer.isBuffer(buf) ? chunked(buf) : buf, CT, l, tempFiles);
  return params;
}

function isHTTPError(status: number, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof HTTPError, `expected HTTPError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

function ourTempFiles(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith('drupe-upload-'));
}

test('fields and a small file stay in memory', async () => {
  const p = await parse(
    body([
      { name: 'title', value: 'Hello ñ' },
      { name: 'tag', value: 'a' },
      { name: 'tag', value: 'b' },
      { name: 'doc', value: 'small file\n', filename: 'notes.txt', type: 'text/markdown' },
    ]),
  );
  assert.equal(Object.getPrototypeOf(p), null);
  assert.equal(p.title, 'Hello ñ');
  assert.deepEqual(p.tag, ['a', 'b']);
  const doc = p.doc;
  assert.ok(doc instanceof UploadedFile);
  assert.equal(doc.name, 'doc');
  assert.equal(doc.filename, 'notes.txt');
  assert.equal(doc.type, 'text/markdown');
  assert.equal(doc.size, 11);
  assert.equal(doc.path, undefined);
  assert.equal(await doc.text(), 'small file\n');
  assert.deepEqual(await doc.bytes(), Buffer.from('small file\n'));
  const streamed: Buffer[] = [];
  for await (const c of doc.stream()) streamed.push(c as Buffer);
  assert.equal(Buffer.concat(streamed).toString(), 'small file\n');
});

test('a large file is spooled to a temp file; removeTempFiles deletes it', async () => {
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  const tempFiles: string[] = [];
  const p = await parse(chunked(body([{ name: 'x', value: '1' }, { name: 'big', value: big, filename: 'big.bin' }]), 4096), limits, tempFiles);
  const f = p.big;
  assert.ok(f instanceof UploadedFile);
  assert.equal(f.size, big.length);
  assert.equal(f.type, 'text/plain'); // RFC 7578 default when the part names no type
  assert.ok(f.path !== undefined);
  assert.deepEqual(tempFiles, [f.path]);
  assert.match(f.path, /drupe-upload-[0-9a-f]{32}$/);
  assert.ok(existsSync(f.path));
  assert.ok((await f.bytes()).equals(big));
  const streamed: Buffer[] = [];
  for await (const c of f.stream()) streamed.push(c as Buffer);
  assert.ok(Buffer.concat(streamed).equals(big));
  await removeTempFiles(tempFiles);
  assert.equal(existsSync(f.path), false);
  await removeTempFiles(tempFiles); // ENOENT ignored
});

test('a file exactly at spoolThreshold stays in memory, one byte more spools', async () => {
  const tempFiles: string[] = [];
  const p = await parse(
    body([
      { name: 'a', value: Buffer.alloc(1024, 1), filename: 'a' },
      { name: 'b', value: Buffer.alloc(1025, 2), filename: 'b' },
    ]),
    limits,
    tempFiles,
  );
  assert.equal((p.a as UploadedFile).path, undefined);
  assert.ok((p.b as UploadedFile).path !== undefined);
  assert.ok((await (p.b as UploadedFile).bytes()).equals(Buffer.alloc(1025, 2)));
  await removeTempFiles(tempFiles);
});

test('non-ASCII file names decode (raw UTF-8 and RFC 5987)', async () => {
  const p = await parse(
    body([
      { name: 'a', value: 'x', filename: 'résumé ñ 日本.txt' },
      { name: 'b', value: 'y', rawDisposition: `form-data; name="b"; filename*=UTF-8''%E2%82%AC%20rates.csv` },
      { name: 'c', value: 'z', filename: '../../etc/passwd' },
    ]),
  );
  assert.equal((p.a as UploadedFile).filename, 'résumé ñ 日本.txt');
  assert.equal((p.b as UploadedFile).filename, '€ rates.csv');
  assert.equal((p.c as UploadedFile).filename, 'passwd'); // busboy keeps the base name only
});

test('prototype-ish field names are plain keys', async () => {
  const p = await parse(body([{ name: '__proto__', value: 'x' }, { name: 'constructor[prototype][x]', value: '1' }]));
  assert.equal(Object.getPrototypeOf(p), null);
  assert.equal(p.__proto__, 'x');
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('exactly the limits are accepted', async () => {
  const l: MultipartLimits = { maxParts: 3, maxFileSize: 2000, maxFieldSize: 10, spoolThreshold: 100 };
  const tempFiles: string[] = [];
  const p = await parse(
    body([
      { name: 'f', value: '0123456789' },
      { name: 'g', value: 'x' },
      { name: 'file', value: Buffer.alloc(2000, 3), filename: 'f.bin' },
    ]),
    l,
    tempFiles,
  );
  assert.equal(p.f, '0123456789');
  assert.equal((p.file as UploadedFile).size, 2000);
  await removeTempFiles(tempFiles);
});

test('10,000 parts → 413, and reading stops early', { timeout: 10_000 }, async () => {
  let pulled = 0;
  const one = partBytes({ name: 'a', value: '1' });
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < 10_000; i++) {
        pulled++;
        yield one;
      }
      yield Buffer.from(`--${BOUNDARY}--\r\n`);
    })(),
    { objectMode: false },
  );
  const into = createParams();
  await assert.rejects(
    parseMultipartInto(into, source, CT, limits, []),
    isHTTPError(413, /^Too many multipart parts \(limit 100\)$/),
  );
  assert.ok(pulled < 1000, `pulled ${pulled} parts`);
  assert.equal(into.a, undefined); // a failed parse adds nothing
});

test('10,000 file parts → 413 too', async () => {
  const buf = body(Array.from({ length: 10_000 }, () => ({ name: 'f', value: 'x', filename: 'f' })));
  await assert.rejects(parse(buf), isHTTPError(413, /Too many multipart parts/));
});

test('an oversized file → 413 and its temp file is removed', async () => {
  const before = new Set(ourTempFiles());
  const tempFiles: string[] = [];
  const l = { ...limits, maxFileSize: 50_000 };
  await assert.rejects(
    parse(paced(body([{ name: 'big', value: Buffer.alloc(200_000, 1), filename: 'big.bin' }]), 4096), l, tempFiles),
    isHTTPError(413, /^Uploaded file too large$/),
  );
  assert.equal(tempFiles.length, 1);
  assert.equal(existsSync(tempFiles[0] as string), false);
  assert.deepEqual(ourTempFiles().filter((f) => !before.has(f)), []);
});

test('an oversized in-memory file (limit below spoolThreshold) → 413', async () => {
  const l = { ...limits, maxFileSize: 10 };
  await assert.rejects(parse(body([{ name: 'f', value: 'x'.repeat(11), filename: 'f' }]), l), isHTTPError(413, /too large/));
});

test('an earlier, finished spooled file is removed when a later part fails', async () => {
  const tempFiles: string[] = [];
  const l = { ...limits, maxFieldSize: 10 };
  // The file is written out completely before the bad field arrives.
  const source = Readable.from(
    (async function* () {
      yield partBytes({ name: 'ok', value: Buffer.alloc(5000, 1), filename: 'ok' });
      await new Promise((r) => setTimeout(r, 50));
      yield body([{ name: 'field', value: 'x'.repeat(11) }]);
    })(),
    { objectMode: false },
  );
  await assert.rejects(parse(source, l, tempFiles), isHTTPError(413, /Form field too large/));
  assert.equal(tempFiles.length, 1);
  assert.equal(existsSync(tempFiles[0] as string), false);
});

test('a truncated body → 400 (and a half-written temp file is removed)', async () => {
  const full = body([{ name: 'a', value: '1' }, { name: 'big', value: Buffer.alloc(100_000, 1), filename: 'b' }]);
  const tempFiles: string[] = [];
  await assert.rejects(parse(paced(full.subarray(0, 60_000), 4096), limits, tempFiles), isHTTPError(400, /Malformed multipart/));
  assert.equal(tempFiles.length, 1);
  assert.equal(existsSync(tempFiles[0] as string), false);
  // cut inside the headers of a part, and a body missing only its closing boundary
  await assert.rejects(parse(full.subarray(0, 60)), isHTTPError(400));
  const noClose = Buffer.concat([partBytes({ name: 'a', value: '1' })]);
  await assert.rejects(parse(noClose), isHTTPError(400));
});

test('an empty body and a missing or wrong boundary → 400; another type → 415', async () => {
  await assert.rejects(parse(Buffer.alloc(0)), isHTTPError(400));
  const into = createParams();
  await assert.rejects(parseMultipartInto(into, chunked(body([])), 'multipart/form-data', limits, []), isHTTPError(400, /[Bb]oundary/));
  await assert.rejects(parseMultipartInto(into, chunked(body([{ name: 'a', value: '1' }])), 'multipart/form-data; boundary=other', limits, []), isHTTPError(400));
  await assert.rejects(parseMultipartInto(into, chunked(Buffer.from('a=1')), 'application/x-www-form-urlencoded', limits, []), isHTTPError(415));
  await assert.rejects(parseMultipartInto(into, chunked(Buffer.from('a=1')), 'multipart/form-dataX; boundary=x', limits, []), isHTTPError(415));
});

test('a malformed part header → 400', async () => {
  const bad = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition form-data; name="a"\r\n\r\n1\r\n--${BOUNDARY}--\r\n`);
  await assert.rejects(parse(bad), isHTTPError(400, /Malformed/));
});

test('a source erroring with an HTTPError(413) rejects with that very error', async () => {
  const limitError = new HTTPError(413, 'Request body too large');
  const head = body([{ name: 'a', value: '1' }, { name: 'big', value: Buffer.alloc(50_000, 1), filename: 'b' }]).subarray(0, 30_000);
  const source = new Readable({ read() {} });
  source.push(head);
  setImmediate(() => source.destroy(limitError));
  const tempFiles: string[] = [];
  await assert.rejects(parseMultipartInto(createParams(), source, CT, limits, tempFiles), (err: unknown) => err === limitError);
  for (const f of tempFiles) assert.equal(existsSync(f), false);
});

test('a source closed without end or error → 400, not a hang', async () => {
  const source = new Readable({ read() {} });
  source.push(partBytes({ name: 'a', value: '1' }));
  setImmediate(() => source.destroy());
  await assert.rejects(parseMultipartInto(createParams(), source, CT, limits, []), isHTTPError(400, /ended early/));
});

test('parts without a name are skipped; a part with octet-stream and no filename is a file', async () => {
  const p = await parse(
    body([
      { name: '', value: 'ignored', rawDisposition: 'form-data' },
      { name: 'blob', value: Buffer.from([0, 1, 2]), type: 'application/octet-stream' },
    ]),
  );
  assert.deepEqual(Object.keys(p), ['blob']);
  const blob = p.blob as UploadedFile;
  assert.equal(blob.filename, '');
  assert.deepEqual(await blob.bytes(), Buffer.from([0, 1, 2]));
});

test('multipart values join query values under the same key', async () => {
  const into = createParams();
  into.a = 'from-query';
  await parseMultipartInto(into, chunked(body([{ name: 'a', value: 'from-body' }])), CT, limits, []);
  assert.deepEqual(into.a, ['from-query', 'from-body']);
});

test('repeated keys keep body order across spooled files, small files and fields', async () => {
  const tempFiles: string[] = [];
  const p = await parse(
    body([
      { name: 'k', value: Buffer.alloc(200_000, 1), filename: 'big' },
      { name: 'k', value: 'field' },
      { name: 'k', value: 'tiny', filename: 'small' },
    ]),
    limits,
    tempFiles,
  );
  const k = p.k as Array<string | UploadedFile>;
  assert.equal(k.length, 3);
  assert.equal((k[0] as UploadedFile).filename, 'big');
  assert.equal(k[1], 'field');
  assert.equal((k[2] as UploadedFile).filename, 'small');
  await removeTempFiles(tempFiles);
});
