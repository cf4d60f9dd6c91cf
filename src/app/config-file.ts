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
const PATH_KEYS = new Set([
  'tools.staticdir.root', 'tools.staticfile.root', 'log.access_file', 'log.error_file',
  'server.ssl_certificate', 'server.ssl_private_key', 'server.ssl_certificate_chain', 'tools.sessions.storage_path',
]);
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

/**
 * Each key with its line: alone, or for a tool option with the same tool's
 * keys above it in the section (a tool's `prepare` sees its options
 * together, so one that depends on another is judged at the later line).
 * Then the section's tool options over the global ones, as `serve` does.
 */
function checkSection(config: Record<string, unknown>, section: ConfigSection | undefined, file: string, scope: 'global' | 'local', beneath: Record<string, unknown>): void {
  if (section === undefined) return;
  const seen: Record<string, unknown> = {};
  for (const { key, line } of section.entries) {
    const tool = key.startsWith('tools.') ? `tools.${key.split('.')[1] ?? ''}.` : undefined;
    const together: Record<string, unknown> = {};
    if (tool !== undefined) for (const k of Object.keys(seen)) if (k.startsWith(tool)) together[k] = seen[k];
    together[key] = config[key];
    validateConfig(together, `${file}:${line} [${section.name}]`, scope);
    seen[key] = config[key];
  }
  checkToolOptions(config, `${file}:${section.line} [${section.name}]`, beneath);
}
