import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Config, ErrorPageInfo } from './config.js';
import { defaultProblem, mergeProblem, problemJson, type ProblemDetails, type ProblemFieldError } from './problem.js';

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
<p>${escapeHtml(info.message)}</p>${errorList(info.errors)}${tb}
<div id="powered_by">Powered by Drupe</div>
</body></html>
`;
}

/** What was wrong with the input, one item each (a validation error's `errors`). */
function errorList(errors: readonly ProblemFieldError[] | undefined): string {
  if (errors === undefined || errors.length === 0) return '';
  const items = errors.map((e) => `<li>${escapeHtml(e.path === '' ? e.location : `${e.location}.${e.path}`)}: ${escapeHtml(e.message)}</li>`);
  return `\n<ul id="errors">\n${items.join('\n')}\n</ul>`;
}

/** An error page: its Content-Type and text. */
export interface RenderedPage {
  readonly type: string;
  readonly body: string;
}

export const HTML_TYPE = 'text/html;charset=utf-8';
export const PROBLEM_TYPE = 'application/problem+json';

/**
 * An error page: `error_page.<status>`, else `error_page.default`, else
 * Drupe's own. A page function decides its form by what it returns (a
 * string is HTML, an object a problem document over Drupe's members), so
 * it may follow `info.format` or not. A file page is HTML, used only when
 * the format is 'html'; it may hold Drupe's placeholders {status},
 * {reason}, {message} and {traceback}, and CherryPy's %(status)s ("404 Not
 * Found"), %(message)s, %(traceback)s and %(version)s, all filled in
 * HTML-escaped. A page function gets the raw values and escapes its own.
 * `jsonType`: the Content-Type a problem document goes out as
 * (`application/json` for a client that accepts only that).
 */
export function renderErrorPage(config: Readonly<Config>, info: ErrorPageInfo, jsonType = PROBLEM_TYPE): RenderedPage {
  const page = config[`error_page.${info.status}`] ?? config['error_page.default'];
  if (typeof page === 'function') {
    const out: unknown = page(info);
    if (typeof out === 'string') return { type: HTML_TYPE, body: out };
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      throw new TypeError(`error_page.${info.status} returned ${out === null ? 'null' : Array.isArray(out) ? 'an array' : typeof out}: expected a string (an HTML page) or an object (a problem document)`);
    }
    return { type: jsonType, body: problemJson(mergeProblem(defaultProblem(info), out as ProblemDetails, info.status)) };
  }
  if (info.format === 'problem') return { type: jsonType, body: problemJson(defaultProblem(info)) };
  if (page === undefined) return { type: HTML_TYPE, body: defaultPage(info) };
  return { type: HTML_TYPE, body: fillTemplate(readFileSync(page, 'utf8'), info) };
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
