import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine, quickstart } from '../../src/index.js';
import { globalConfig, Root, sections } from './site.js';

// Embedded defaults: nothing to configure. PORT overrides the port.
const port = process.env.PORT === undefined ? 8080 : Number(process.env.PORT);
// The only place the demo writes (generated downloads, uploads): made here, removed when the engine stops.
const dataDir = mkdtempSync(join(tmpdir(), 'drupe-demo-'));
engine.subscribe('stop', () => rmSync(dataDir, { recursive: true, force: true }));
console.log(`demo: writing only in ${dataDir} (removed when it stops)`);
await quickstart(new Root({ dataDir }), sections, { host: '127.0.0.1', port, config: globalConfig });
