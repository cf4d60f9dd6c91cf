// Express, as its docs teach: res.send/res.json, streams piped into res,
// res.write for server-sent events, express.static for files.
import express from 'express';
import { Readable } from 'node:stream';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, HTML, chunks, textChunks, onEvent, sseFrame, ready,
} from './common.mjs';

const app = express();

app.get('/hello', (req, res) => { res.type('text').send(HELLO); });
app.get('/a/b/c', (req, res) => { res.type('text').send(`Hello ${req.query.name}`); });
app.get('/json', (req, res) => { res.json(JSON_BODY); });
app.get('/stream', (req, res) => {
  res.type('application/octet-stream');
  Readable.from(chunks()).pipe(res);
});
app.get('/stream-text', (req, res) => {
  res.type(HTML);
  Readable.from(textChunks()).pipe(res);
});
app.get('/slow', (req, res) => {
  res.type('application/octet-stream');
  Readable.from(chunks(SLOW_CHUNKS)).pipe(res);
});
app.get('/big', (req, res) => { res.type('application/octet-stream').send(BIG); });
app.get('/sse', (req, res) => {
  res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const off = onEvent((d) => { if (!res.writableNeedDrain) res.write(sseFrame(d)); });
  res.on('close', off);
});
app.use('/static', express.static(STATIC_DIR));

app.listen(port, host, () => ready('express'));
