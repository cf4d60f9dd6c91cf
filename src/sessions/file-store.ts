import type { SessionStore } from './store.js';

/** Options of the file store (`tools.sessions.storage_type: 'file'`). */
export interface FileStoreOptions {
  /** `tools.sessions.storage_path`: the directory, one file per session. */
  path: string;
  /** `tools.sessions.max_size`: bytes of serialised data a session may hold. */
  maxSize: number;
}

/** One file per session under `options.path`. (Being built: the stores' branch replaces this.) */
export function fileStore(options: FileStoreOptions): SessionStore {
  throw new Error(`the file session store is not built yet (${options.path})`);
}
