import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Config, ErrorPageInfo } from './config.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function defaultPage(info: ErrorPageInfo): string {
  const title = `${info.status} ${escapeHtml(info.reason)}`;
  const tb = info.traceback === '' ? '' : `\n<pre id="traceback">${escapeHtml(info.traceback)}</pre>`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h2>${title}</h2>
<p>${escapeHtml(info.message)}</p>${tb}
<div id="powered_by">Powered by Drupe</div>
</body></html>
`;
}

/**
 * The HTML of an error page: `error_page.<status>`, else
 * `error_page.default`, else Drupe's own. A file page may hold Drupe's
 * placeholders {status}, {reason}, {message} and {traceback}, and
 * CherryPy's %(status)s ("404 Not Found"), %(message)s, %(traceback)s and
 * %(version)s, all filled in HTML-escaped. A page function gets the raw
 * values and escapes its own.
 */
export function renderErrorPage(config: Readonly<Config>, info: ErrorPageInfo): string {
  const page = config[`error_page.${info.status}`] ?? config['error_page.default'];
  if (page === undefined) return defaultPage(info);
  if (typeof page === 'function') return page(info);
  return fillTemplate(readFileSync(page, 'utf8'), info);
}

const PLACEHOLDERS = /\{(status|reason|message|traceback)\}|%\((status|message|traceback|version)\)s/g;
const WITH_PERCENT = /\{(status|reason|message|traceback)\}|%\((status|message|traceback|version)\)s|%%/g;

/**
 * One pass over the template, so a value filled in is never read as a
 * placeholder. CherryPy's template is Python %-formatting, where `%%` is a
 * literal `%`: only a page that uses `%(` is read that way, so a Drupe page
 * with a literal `%%` keeps it. An unknown name stays as written.
 */
function fillTemplate(text: string, info: ErrorPageInfo): string {
  return text.replace(text.includes('%(') ? WITH_PERCENT : PLACEHOLDERS, (_, drupe: string | undefined, cherrypy: string | undefined) => {
    if (drupe !== undefined) return escapeHtml(String(info[drupe as keyof ErrorPageInfo]));
    if (cherrypy === undefined) return '%';
    if (cherrypy === 'status') return escapeHtml(`${info.status} ${info.reason}`);
    if (cherrypy === 'version') return escapeHtml(drupeVersion());
    return escapeHtml(cherrypy === 'message' ? info.message : info.traceback);
  });
}

let version: string | undefined;

/** Drupe's own version, read once from its package.json (the package imports itself by name, from dist/ as from a build). */
function drupeVersion(): string {
  if (version === undefined) {
    try {
      const pkg: unknown = createRequire(import.meta.url)('drupe/package.json');
      const v = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
      version = typeof v === 'string' ? v : '';
    } catch {
      version = '';
    }
  }
  return version;
}
