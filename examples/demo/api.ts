import { z } from 'zod';
import { HTTPError, MethodDispatcher, expose, type Config, type Context } from '../../src/index.js';

// #region notes
/** A note as the API returns it. */
interface Note { id: number; text: string; tags: string[] }

const list = {
  params: z.object({ tag: z.string().max(20).optional() }),
  // /api/notes or /api/notes/<id>: at most one arg, a positive integer.
  args: z.tuple([z.coerce.number().int().positive().optional()]),
};
const add = {
  body: z.object({ text: z.string().trim().min(1).max(200), tags: z.array(z.string().max(20)).max(5).default([]) }),
};
const one = { args: z.tuple([z.coerce.number().int().positive()]) };

/**
 * A small JSON resource (MethodDispatcher, zod schemas): GET /api/notes
 * lists (`?tag=` filters), GET /api/notes/<id> shows one, POST adds one
 * from a JSON body, DELETE /api/notes/<id> removes one. Its OpenAPI
 * document is at /api/openapi.json; its errors are problem+json.
 */
export class Notes {
  readonly #notes: Note[] = [{ id: 1, text: 'Read /api/openapi.json', tags: ['demo'] }];
  #next = 2;

  @expose(list)
  GET({ params, args }: Context<typeof list>): Note | Note[] {
    const [id] = args;
    if (id !== undefined) return this.#find(id);
    return params.tag === undefined ? this.#notes : this.#notes.filter((n) => n.tags.includes(params.tag!));
  }

  @expose(add)
  POST({ body, response }: Context<typeof add>): Note {
    if (this.#notes.length >= 100) this.#notes.shift(); // a demo keeps a bounded list
    const note = { id: this.#next++, text: body.text, tags: body.tags };
    this.#notes.push(note);
    response.status = 201;
    return note;
  }

  @expose(one)
  DELETE({ args, response }: Context<typeof one>): void {
    const note = this.#find(args[0]);
    this.#notes.splice(this.#notes.indexOf(note), 1);
    response.status = 204;
  }

  #find(id: number): Note {
    const note = this.#notes.find((n) => n.id === id);
    if (note === undefined) throw new HTTPError(404, `No note ${id}`);
    return note;
  }
}
// #endregion

export const apiSections: Record<string, Config> = {
  '/api': {
    'request.dispatch': new MethodDispatcher(),
    'request.error_format': 'problem',
    'tools.json_in.on': true,
    'tools.json_out.on': true,
    'tools.openapi.on': true,
    'tools.openapi.path': '/api/openapi.json',
    'tools.openapi.title': 'Drupe demo API',
    'tools.openapi.version': '1.0.0',
  },
};
