import { expose } from '../../src/index.js';
import { page } from './layout.js';

// #region notes
/**
 * A page that uses the JSON API of api.ts from the browser: what it sends is validated by the
 * handler's zod schemas, and what is refused comes back as problem+json, shown field by field.
 */
export class NotesPage {
  @expose()
  index(): string {
    return page('A typed JSON API', `<h1>A typed JSON API</h1>
<form id="add"><input name="text" placeholder="a note" aria-label="note text"> <input name="tags" placeholder="tags, comma separated" aria-label="tags"> <button>Add</button></form>
<p id="result" role="status"></p>
<ul id="notes"></ul>
<p><a href="/api/openapi.json">The OpenAPI document</a>, built from the tree.</p>
<script>
const notes = document.getElementById('notes');
const result = document.getElementById('result');
async function load() {
  const list = await (await fetch('/api/notes')).json();
  notes.replaceChildren(...list.map((n) => { const li = document.createElement('li'); li.textContent = '#' + n.id + ' ' + n.text + (n.tags.length ? ' [' + n.tags.join(', ') + ']' : ''); return li; }));
}
document.getElementById('add').onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target.elements;
  const tags = form.tags.value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const res = await fetch('/api/notes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: form.text.value, tags }) });
  const answer = await res.json();
  if (res.ok) {
    result.className = 'ok';
    result.textContent = res.status + ': added note #' + answer.id;
    form.text.value = ''; form.tags.value = '';
  } else {
    result.className = 'error';
    result.textContent = res.status + ' ' + res.headers.get('content-type') + ': ' + answer.title + ' — ' + (answer.errors ?? []).map((x) => x.path + ': ' + x.message).join('; ');
  }
  await load();
};
load();
</script>`, {
      note: `<p>The form posts JSON to <code>/api/notes</code>, whose <code>POST</code> declares its body with a zod schema: the handler gets the validated, typed note (text trimmed, tags defaulted).
Add a note with no text, or a tag over 20 characters: the answer is a 400 in <code>application/problem+json</code>, naming each field the schema refused.</p>`,
      source: 'api.ts#notes',
    });
  }
}
// #endregion
