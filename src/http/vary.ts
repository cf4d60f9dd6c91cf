import type { Headers } from './headers.js';

/**
 * Add a field name to `Vary` unless it is already there (or `Vary: *`),
 * keeping one header line: tools that negotiate (gzip, cors) each add theirs.
 */
export function addVary(headers: Headers, field: string): void {
  const current = headers.get('vary');
  if (current === undefined || current.trim() === '') {
    headers.set('Vary', field);
    return;
  }
  const lower = field.toLowerCase();
  for (const name of current.split(',')) {
    const n = name.trim().toLowerCase();
    if (n === '*' || n === lower) return;
  }
  headers.set('Vary', `${current}, ${field}`);
}
