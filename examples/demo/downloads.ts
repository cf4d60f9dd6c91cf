import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { HTTPError, NotFound, expose, json, serveFile, type Context, type JsonBody } from '../../src/index.js';
import { escape, page } from './layout.js';
import type { DemoOptions } from './options.js';

const MiB = 1024 * 1024;

// #region files
/** One generated download: where it is, and what the page says about it. */
interface Generated {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Whether tools.gzip compresses it (its type is in the tool's mime_types). */
  readonly compressed: boolean;
}

/**
 * Two files, made once in the demo's data directory on the first request: random bytes (as
 * incompressible as a JPEG, a video or a zip) and a CSV of sensor readings (text, which gzip
 * shrinks to a fraction). The CSV is made from a fixed seed, so it is the same at every start.
 */
async function generate(dir: string): Promise<ReadonlyMap<string, Generated>> {
  await mkdir(dir, { recursive: true });
  let seed = 19;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows: string[] = ['time,sensor,celsius,humidity'];
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; rows.length * 40 < 3 * MiB; i++) {
    const sensor = `sensor-${String(1 + Math.floor(next() * 12)).padStart(2, '0')}`;
    rows.push(`${new Date(start + i * 15_000).toISOString()},${sensor},${(18 + next() * 8).toFixed(2)},${(35 + next() * 30).toFixed(1)}`);
  }
  const contents: ReadonlyArray<readonly [string, Buffer, boolean]> = [
    ['random.bin', randomBytes(4 * MiB), false],
    ['readings.csv', Buffer.from(rows.join('\n') + '\n'), true],
  ];
  const files = new Map<string, Generated>();
  for (const [name, bytes, compressed] of contents) {
    const path = join(dir, name);
    await writeFile(path, bytes);
    files.set(name, { name, path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), compressed });
  }
  return files;
}
// #endregion

// #region upload
/** What the upload accepts: the size limit, and the types the browser may declare for the file. */
export const UPLOAD_LIMIT = 4 * MiB;
const ACCEPTED = ['text/plain', 'text/csv', 'application/pdf', 'image/png', 'image/jpeg', 'application/zip', 'application/octet-stream'];

interface Hashed {
  readonly filename: string;
  readonly type: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Hash the one file of a multipart body while it streams in: each chunk goes into SHA-256 and is
 * dropped, so nothing is kept, in memory or on disk. The whole body is read (the request bound
 * keeps that finite) so the browser gets the answer, not a connection closed under its upload.
 */
async function hashUpload(body: Readable, contentType: string): Promise<Hashed> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { files: 1, fileSize: UPLOAD_LIMIT + 1, fields: 0 } });
  } catch {
    throw new HTTPError(400, 'The body is not a multipart/form-data form');
  }
  let found: Hashed | HTTPError | undefined;
  const files: Promise<void>[] = [];
  parser.on('file', (_field, file, info) => {
    file.on('error', () => undefined); // a parser torn down mid-file errors its stream; the pipeline reports why
    if (!ACCEPTED.includes(info.mimeType)) {
      found = new HTTPError(415, `${info.mimeType} files are not accepted: send text, CSV, PDF, PNG, JPEG, zip or plain binary`);
      file.resume(); // read and dropped: the parser goes on only once each file stream is drained
      return;
    }
    const hash = createHash('sha256');
    let size = 0;
    let over = false;
    file.on('data', (chunk: Buffer) => { size += chunk.length; hash.update(chunk); });
    file.on('limit', () => { over = true; });
    files.push(new Promise((resolve) => file.on('end', () => {
      found = over
        ? new HTTPError(413, `The file is over the ${UPLOAD_LIMIT / MiB} MiB limit: it was read and dropped, nothing was kept`)
        : { filename: info.filename ?? '', type: info.mimeType, size, sha256: hash.digest('hex') };
      resolve();
    })));
  });
  let bodyError: unknown;
  body.once('error', (err) => { bodyError = err; }); // the request bound (413), or a client that left
  try {
    await pipeline(body, parser);
  } catch (err) {
    throw bodyError ?? new HTTPError(400, `Malformed multipart body: ${(err as Error).message}`);
  }
  await Promise.all(files);
  if (found instanceof HTTPError) throw found;
  if (found === undefined) throw new HTTPError(400, 'The form had no file in it: choose one first');
  return found;
}
// #endregion

// #region serve
/** /downloads/file/<name>: one of the generated files, with Range, conditional requests and (for text) gzip. */
class Files {
  constructor(private readonly files: () => Promise<ReadonlyMap<string, Generated>>) {}

  @expose({ 'tools.gzip.on': true, 'tools.gzip.encodings': ['gzip'] })
  async default({ args }: Context): Promise<unknown> {
    const file = args.length === 1 ? (await this.files()).get(args[0]!) : undefined;
    if (file === undefined) throw new NotFound();
    return serveFile(file.path, { disposition: 'attachment' });
  }
}
// #endregion

export class Downloads {
  #files: Promise<ReadonlyMap<string, Generated>> | undefined;
  readonly file = new Files(() => this.files());

  constructor(readonly options: DemoOptions) {}

  /** What the demo's data directory holds: shown with the form and after each upload, so a visitor can see nothing stayed. */
  async dataDirFiles(): Promise<string[]> {
    const entries = await readdir(this.options.dataDir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(this.options.dataDir, join(e.parentPath ?? e.path, e.name))).sort();
  }

  /** The generated files, made once, on first use. */
  files(): Promise<ReadonlyMap<string, Generated>> {
    return (this.#files ??= generate(join(this.options.dataDir, 'downloads')));
  }

  // #region index
  @expose()
  async index(): Promise<string> {
    const files = await this.files();
    const held = escape((await this.dataDirFiles()).join(', '));
    const rows = [...files.values()].map((f) => `<tr data-file="${f.name}" data-compressed="${f.compressed ? 'gzip' : 'none'}" data-sha256="${f.sha256}">
<td><a href="file/${f.name}" download>${f.name}</a></td><td>${(f.size / MiB).toFixed(2)} MiB</td><td>${f.compressed ? 'gzip' : 'none'}</td>
<td class="wire">–</td><td class="etag">–</td><td class="again">–</td></tr>`).join('');
    return page('Downloads and uploads', `<h1>Downloads and uploads</h1>
<p>Two files generated in the demo's own directory, served by <code>serveFile</code>: it answers <code>Range</code>, <code>If-Range</code>, <code>If-None-Match</code> itself, and never reads a file into memory.</p>
<div class="wide"><table id="files"><thead><tr><th>File</th><th>Size</th><th>Compressed</th><th>On the wire</th><th>ETag</th><th>Asked again</th></tr></thead><tbody>${rows}</tbody></table></div>
<p><button id="wire">Fetch both, then ask again with If-None-Match</button></p>
<h2>A download cut part-way, then resumed</h2>
<p><button id="resume">Download random.bin, cut it, resume it</button></p>
<ol id="resume-log" class="log"></ol>
<h2>Upload</h2>
<form id="upload" method="post" action="upload" enctype="multipart/form-data" data-limit="${UPLOAD_LIMIT}">
<input type="file" name="file" aria-label="file"> <button>Upload</button>
<progress id="progress" value="0" max="1"></progress>
</form>
<p class="muted">The demo's data directory holds: <span id="data-dir">${held}</span>.</p>
<div id="upload-result" aria-live="polite"></div>
<script>${SCRIPT}</script>`, {
      note: `<p><b>readings.csv</b> is text: <code>tools.gzip</code> (on for <code>/downloads/file</code>, gzip only) compresses it as it is read, so far fewer bytes cross the wire than the file holds — compare the columns after <em>Fetch both</em>. <b>random.bin</b> is random bytes, like a JPEG or a zip: compressing it would cost CPU and save nothing, so its type (<code>application/octet-stream</code>) is not in the tool's list and it goes as it is, with <code>Accept-Ranges: bytes</code> and a strong ETag.</p>
<p><em>Resume</em> reads random.bin with <code>fetch</code>, aborts once it has the first MiB, then asks for the rest with <code>Range: bytes=N-</code> and <code>If-Range</code> set to the ETag: the server answers 206 with just the missing bytes, and the SHA-256 of the two parts joined is the file's (the table's). Asked again with <code>If-None-Match</code>, each file is a 304 with no body.</p>
<p>The upload streams through a multipart parser into SHA-256, chunk by chunk: nothing is kept, in memory or on disk. The page checks neither size nor type, so what you see is the server's answer: over ${UPLOAD_LIMIT / MiB} MiB is a 413, a type outside the list a 415.</p>
<p>More source: <a href="/source/downloads.ts/serve">serving the files</a>, <a href="/source/downloads.ts/files">making them</a>, <a href="/source/downloads.ts/upload-handler">the upload handler</a> and <a href="/source/downloads.ts/upload">its hashing</a>.</p>`,
      source: 'downloads.ts#index',
    });
  }
  // #endregion

  // #region upload-handler
  /**
   * POST /downloads/upload: the file's size and SHA-256, hashed as it arrives; nothing kept. The
   * form is not read into params (process_request_body off): the handler streams it itself. A body
   * up to four times the limit is read to the end so the browser gets the 413 with its reason; a
   * longer one is refused by Drupe before it is read (its own 413, and the connection closes).
   */
  @expose({ 'request.process_request_body': false, 'server.max_request_body_size': 4 * UPLOAD_LIMIT })
  async upload({ request, response }: Context): Promise<JsonBody> {
    if (request.method !== 'POST') {
      response.headers.set('Allow', 'POST');
      throw new HTTPError(405, 'Post a file with the form on /downloads/');
    }
    const type = request.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(type)) throw new HTTPError(415, 'Send the file as multipart/form-data (the form on /downloads/ does)');
    const hashed = await hashUpload(request.stream(), type);
    return json({ ...hashed, kept: await this.dataDirFiles() });
  }
  // #endregion
}

// The page's script: plain JS, run in the browser (no build step).
const SCRIPT = String.raw`
const $ = (s, el = document) => el.querySelector(s);
const hex = async (buf) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');
const fmt = (n) => n >= 1048576 ? (n / 1048576).toFixed(2) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B';
const rows = [...document.querySelectorAll('#files tbody tr')];

$('#wire').addEventListener('click', async () => {
  for (const row of rows) {
    const url = new URL('file/' + row.dataset.file, location.href).href;
    const res = await fetch(url, { cache: 'no-store' });
    await res.arrayBuffer();
    const timing = performance.getEntriesByName(url).at(-1);
    const coding = res.headers.get('content-encoding') || 'none';
    row.dataset.encoding = coding;
    row.dataset.wire = String(timing.encodedBodySize);
    row.dataset.decoded = String(timing.decodedBodySize);
    $('.wire', row).textContent = fmt(timing.encodedBodySize) + ' (' + coding + ')';
    const etag = res.headers.get('etag');
    $('.etag', row).textContent = etag;
    const again = await fetch(url, { cache: 'no-store', headers: { 'If-None-Match': etag } });
    row.dataset.again = String(again.status);
    $('.again', row).textContent = again.status + (again.status === 304 ? ' Not Modified' : '');
  }
});

$('#resume').addEventListener('click', async () => {
  const log = $('#resume-log');
  log.replaceChildren();
  const say = (text, cls) => { const li = document.createElement('li'); li.textContent = text; if (cls) li.className = cls; log.append(li); return li; };
  const row = rows.find((r) => r.dataset.file === 'random.bin');
  const url = 'file/random.bin';
  const cut = new AbortController();
  const first = await fetch(url, { cache: 'no-store', signal: cut.signal });
  const etag = first.headers.get('etag');
  // Keep exactly the first MiB, as a download cut there would have saved it.
  const parts = [];
  let got = 0;
  const reader = first.body.getReader();
  while (got < 1048576) {
    const { done, value } = await reader.read();
    if (done) break;
    const part = value.subarray(0, 1048576 - got);
    parts.push(part);
    got += part.length;
  }
  cut.abort();
  say(first.status + ', ETag ' + etag + ': kept ' + got + ' bytes, then aborted', 'first');
  const rest = await fetch(url, { cache: 'no-store', headers: { Range: 'bytes=' + got + '-', 'If-Range': etag } });
  const tail = new Uint8Array(await rest.arrayBuffer());
  say(rest.status + ' ' + rest.headers.get('content-range') + ': ' + tail.length + ' more bytes', 'rest');
  const whole = new Uint8Array(got + tail.length);
  let at = 0;
  for (const p of [...parts, tail]) { whole.set(p, at); at += p.length; }
  const sum = await hex(whole);
  const same = sum === row.dataset.sha256;
  const li = say('joined: ' + whole.length + ' bytes, SHA-256 ' + sum + (same ? ' — the same as the file' : ' — NOT the file'), same ? 'ok' : 'error');
  li.id = 'resume-result';
  li.dataset.sha256 = sum;
  li.dataset.size = String(whole.length);
  li.dataset.first = String(got);
  li.dataset.status = first.status + ',' + rest.status;
});

$('#upload').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target;
  const out = $('#upload-result');
  const bar = $('#progress');
  const file = form.file.files[0];
  out.className = '';
  if (!file) { out.textContent = 'Choose a file first.'; return; }
  bar.value = 0;
  out.textContent = 'Uploading ' + file.name + '…';
  const xhr = new XMLHttpRequest();
  xhr.open('POST', form.action);
  xhr.setRequestHeader('Accept', 'application/json');
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; } };
  xhr.onload = () => {
    let answer;
    try { answer = JSON.parse(xhr.responseText); } catch { answer = { detail: xhr.statusText }; }
    if (xhr.status === 200) {
      out.className = 'ok';
      out.innerHTML = '<dl><dt>File</dt><dd id="upload-name"></dd><dt>Size</dt><dd id="upload-size"></dd><dt>SHA-256</dt><dd id="upload-sha256" class="hash"></dd><dt>Kept on the server</dt><dd>nothing: the data directory holds <span id="upload-kept"></span></dd></dl>';
      $('#upload-name').textContent = answer.filename + ' (' + answer.type + ')';
      $('#upload-size').textContent = answer.size + ' bytes (' + fmt(answer.size) + ')';
      $('#upload-size').dataset.bytes = String(answer.size);
      $('#upload-sha256').textContent = answer.sha256;
      $('#upload-kept').textContent = answer.kept.join(', ');
    } else {
      out.className = 'error';
      const what = { 413: 'Too large (413): files up to ' + fmt(Number(form.dataset.limit)) + ' are taken. ', 415: 'Not accepted (415): ' }[xhr.status] || xhr.status + ': ';
      out.textContent = what + 'The server said: ' + answer.detail;
    }
  };
  xhr.onerror = () => { out.className = 'error'; out.textContent = 'The connection closed before the server answered: a body far over the ' + fmt(Number(form.dataset.limit)) + ' limit is refused unread.'; };
  xhr.send(new FormData(form));
});
`;

