// SIGHUP in a single process: the config file is read again and applied to the running App
// without a restart; what only a restart can apply is named in a log line.
import { App } from '../app/app.js';
import { Tree } from '../app/tree.js';
import type { LoadedConfig } from '../app/config-file.js';
import type { Config } from '../core/config.js';
import { reason } from './errors.js';
import { readConfig, type Exported, type SiteSpec } from './site.js';

/**
 * Keys the listening socket or the process was set up with: a changed value waits for a
 * restart (with workers, SIGHUP is one: every worker reads the file anew).
 */
export const RESTART_KEYS = [
  'server.socket_host', 'server.socket_port', 'server.max_header_size', 'server.socket_timeout',
  'server.headers_timeout', 'server.request_timeout', 'server.keep_alive_timeout', 'server.shutdown_timeout',
  'server.workers', 'server.http2', 'server.http2_max_concurrent_streams',
  // The TLS files are re-read on SIGHUP; a changed path applies on restart.
  'server.ssl_certificate', 'server.ssl_private_key', 'server.ssl_certificate_chain',
] as const;

export interface Reloader {
  /**
   * Read the file again and apply it; returns the lines to log (the last one says what
   * happened). What waits for a restart is compared with what the process started with.
   */
  reload(): { lines: string[]; level: number };
}

/**
 * How a reload applies: `app.configure(global)` (on every app of a Tree) binds the new [global] (plans are rebuilt, log
 * files reopened at their possibly new paths; a request in flight finishes under the plan it
 * started with). The App's [/path] sections are fixed when it is built, so a changed section,
 * like a changed RESTART_KEYS value, is named in a warning and applies on the next restart.
 */
export function reloader(spec: SiteSpec, exported: Exported, served: App | Tree, first: LoadedConfig): Reloader {
  // Every app of a tree takes the same server-wide config, as serve() gives it.
  const apps = served instanceof Tree ? [...served.apps.values()] : [served];
  const file = spec.config;
  return {
    reload() {
      if (file === undefined) return { lines: ['drupe: SIGHUP: no config file to re-read (--config)'], level: 30 };
      let next: LoadedConfig;
      try {
        next = readConfig(spec);
        // Sections are checked too, so an error in one is refused now, not at the next restart.
        if (exported.kind === 'root') new App(exported.root, next.sections);
        for (const app of apps) app.configure(next.global);
      } catch (error) {
        return { lines: [`drupe: SIGHUP: ${reason(error)}; keeping the old config`], level: 50 };
      }
      const waiting = [
        ...RESTART_KEYS.filter((k) => !same(first.global[k as keyof Config], next.global[k as keyof Config])),
        ...(same(first.sections, next.sections) ? [] : ['the [/path] sections']),
      ];
      const lines = [`drupe: SIGHUP: re-read ${file}; [global] applied`];
      if (waiting.length > 0) lines.unshift(`drupe: SIGHUP: ${waiting.join(', ')} changed in ${file}; applies on restart`);
      return { lines, level: waiting.length > 0 ? 40 : 30 };
    },
  };
}

/** Config values from a file are JSON literals: equal when their JSON is. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
