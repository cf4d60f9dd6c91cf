import { readFileSync } from 'node:fs';
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
 * `error_page.default`, else Drupe's own. A file page may hold the
 * placeholders {status}, {reason}, {message} and {traceback}, filled in
 * HTML-escaped. A page function gets the raw values and escapes its own.
 */
export function renderErrorPage(config: Readonly<Config>, info: ErrorPageInfo): string {
  const page = config[`error_page.${info.status}`] ?? config['error_page.default'];
  if (page === undefined) return defaultPage(info);
  if (typeof page === 'function') return page(info);
  const text = readFileSync(page, 'utf8');
  return text.replace(/\{(status|reason|message|traceback)\}/g, (_, k: keyof ErrorPageInfo) => escapeHtml(String(info[k])));
}
