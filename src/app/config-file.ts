import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkToolOptions, validateConfig, type Config } from '../core/config.js';
import { DrupeError } from '../lib/errors.js';
import { parseConfigText, type ConfigSection } from './config-syntax.js';

/** What a config file holds: `global` for `serve(app, { config })`, `sections` for `new App(root, sections)`. */
export interface LoadedConfig {
  global: Config;
  sections: Record<string, Config>;
}

/** Keys whose relative path is read from the file's folder (a path in a file means where the file is, not where the process started). */
const PATH_KEYS = new Set(['tools.staticdir.root', 'tools.staticfile.root', 'log.access_file', 'log.error_file']);
/** Keys CherryPy reads under a `root` when one is set: resolved only when the file sets no root for them. */
const UNDER_ROOT: Record<string, string> = { 'tools.staticdir.dir': 'tools.staticdir.root', 'tools.staticfile.filename': 'tools.staticfile.root' };

/**
 * Read a config file in CherryPy's format and check every key as object
 * config is checked at start-up; an error names the file, the line and
 * the key. Synchronous: a config file is read once, before serving.
 *
 * @example
 *   const { global, sections } = loadConfig(new URL('./site.conf', import.meta.url).pathname);
 *   await serve(new App(new Root(), sections), { config: global });
 */
export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new DrupeError('DRUPE_ERR_CONFIG_FILE', `Cannot read config file ${file}: ${code}`);
  }
  return parseConfig(text, file);
}

/**
 * The text of a config file, parsed and checked as `loadConfig` does.
 * `file` names it in errors and its folder is where relative paths are
 * read from (the working directory when not given).
 */
export function parseConfig(text: string, file?: string): LoadedConfig {
  const name = file ?? '<config>';
  const base = file === undefined ? process.cwd() : dirname(resolve(file));
  const parsed = parseConfigText(text, name);
  const globalSection = parsed.find((s) => s.name === 'global');
  const global = resolvePaths(globalSection, base, undefined);
  checkSection(global, globalSection, name, 'global', {});
  const sections: Record<string, Config> = {};
  for (const section of parsed) {
    if (section.name === 'global') continue;
    const config = resolvePaths(section, base, globalSection);
    checkSection(config, section, name, 'local', global);
    sections[section.name] = config as Config; // checked above, as App checks object config
  }
  return { global: global as Config, sections };
}

function resolvePaths(section: ConfigSection | undefined, base: string, global: ConfigSection | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (section === undefined) return out;
  const sets = (key: string): boolean => section.entries.some((e) => e.key === key) || (global?.entries.some((e) => e.key === key) ?? false);
  for (const { key, value } of section.entries) {
    const isPath = PATH_KEYS.has(key) || key.startsWith('error_page.') || (UNDER_ROOT[key] !== undefined && !sets(UNDER_ROOT[key]));
    out[key] = isPath && typeof value === 'string' && value !== '' && !isAbsolute(value) ? resolve(base, value) : value;
  }
  return out;
}

/** Each key alone, so an error carries its line; then the section's tool options together, over the global ones. */
function checkSection(config: Record<string, unknown>, section: ConfigSection | undefined, file: string, scope: 'global' | 'local', beneath: Record<string, unknown>): void {
  if (section === undefined) return;
  for (const { key, line } of section.entries) {
    validateConfig({ [key]: config[key] }, `${file}:${line} [${section.name}]`, scope);
  }
  checkToolOptions(config, `${file}:${section.line} [${section.name}]`, beneath);
}
