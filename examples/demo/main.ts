import { quickstart } from '../../src/index.js';
import { globalConfig, Root, sections } from './site.js';

// Embedded defaults: nothing to configure. PORT overrides the port.
const port = process.env.PORT === undefined ? 8080 : Number(process.env.PORT);
await quickstart(new Root(), sections, { host: '127.0.0.1', port, config: globalConfig });
