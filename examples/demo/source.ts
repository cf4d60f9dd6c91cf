import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTTPError, expose, type Context } from '../../src/index.js';
import { escape, page } from './layout.js';

// The demo runs compiled (build/examples/demo/*.js); its TypeScript sources and static files
// stay in examples/demo/. Find them from either place.
const here = dirname(fileURLToPath(import.meta.url));
export const demoSourceDir = existsSync(join(here, 'site.ts')) ? here : resolve(here, '../../../examples/demo');
export const staticDir = join(demoSourceDir, 'static');

const FILE = /^[a-z][a-z0-9-]*\.ts$/;
const REGION = /^[a-z][a-z0-9-]*$/;

/**
 * The lines between `// #region name` and `// #endregion` in one of the demo's own files, or
 * undefined when there is no such region.
 */
export function region(text: string, name: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  if (start === -1) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.trim() === '// #endregion');
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/**
 * /source/<file>/<region>: a demo page's handler, read from the example's own file at request
 * time, so what is shown is what runs. /source/<file> shows the whole file.
 */
export class Source {
  @expose()
  async default({ args }: Context): Promise<string> {
    const [file, name, ...rest] = args;
    if (file === undefined || !FILE.test(file) || rest.length > 0 || (name !== undefined && !REGION.test(name))) {
      throw new HTTPError(404, 'No such source');
    }
    let text: string;
    try {
      text = await readFile(join(demoSourceDir, file), 'utf8');
    } catch {
      throw new HTTPError(404, `No source file ${file}`);
    }
    const shown = name === undefined ? text : region(text, name);
    if (shown === undefined) throw new HTTPError(404, `No region ${name} in ${file}`);
    const whole = name === undefined ? '' : `<p>From <a href="/source/${file}">examples/demo/${file}</a>.</p>`;
    return page(`Source: ${file}`, `<h1>Source: ${escape(file)}${name === undefined ? '' : ` — ${escape(name)}`}</h1>${whole}<pre><code>${escape(shown)}</code></pre>`);
  }
}
