// The demo's one page shape: a header with the site's links, the page, a "what you are seeing"
// note and a link to the handler's own source. Every demo page goes through `page()`.

/** Escape text for HTML: everything a visitor typed is shown through this. */
export const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageParts {
  /** "What you are seeing": a few sentences, HTML. */
  note?: string;
  /** The source region this page's handler lives in: `file.ts#region` (see source.ts). */
  source?: string;
  /** Extra tags for the head (a script for this page). */
  head?: string;
}

const NAV: ReadonlyArray<readonly [string, string]> = [
  ['/', 'Home'],
  ['/streaming/', 'Streamed HTML'],
  ['/live/', 'Live feed'],
  ['/failure/', 'Failure'],
  ['/downloads/', 'Downloads'],
  ['/disconnect/', 'Disconnect'],
  ['/blog/', 'Blog'],
  ['/guestbook/', 'Guestbook'],
  ['/account/', 'Sessions'],
  ['/chat/', 'Chat'],
  ['/notes/', 'API'],
];

/** The part of a page before its body: a streamed page sends it first, on its own. */
export function pageStart(title: string, parts: PageParts = {}): string {
  const nav = NAV.map(([href, label]) => `<a href="${href}">${label}</a>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Drupe</title><link rel="stylesheet" href="/static/drupe.css"><link rel="icon" href="/static/favicon.svg">${parts.head ?? ''}</head>
<body><header><a class="brand" href="/">Drupe</a><nav>${nav}</nav></header><main>
`;
}

/** The part after the body: the note and the source link. */
export function pageEnd(parts: PageParts = {}): string {
  const note = parts.note === undefined ? '' : `<aside class="note"><h2>What you are seeing</h2>${parts.note}</aside>`;
  const source = parts.source === undefined ? '' : `<p class="source"><a href="/source/${parts.source.replace('#', '/')}">Source of this page's handler</a></p>`;
  return `${note}${source}</main><footer>Drupe demo</footer></body></html>\n`;
}

export function page(title: string, body: string, parts: PageParts = {}): string {
  return pageStart(title, parts) + body + pageEnd(parts);
}
