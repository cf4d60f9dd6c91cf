// The file store's reads and writes of its own small files, hardened against what may be planted
// in their place (HOSTILE 55): a link is never followed, a FIFO never waited on.
import { constants } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';

/** Never follow a link planted where a store's file should be, nor wait on a FIFO planted there. */
export const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** Write a new file (mode 0600), making the store's directory (0700) if it is missing. */
export async function writeNew(dir: string, path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  }
}

/**
 * The text of the file at `path` (rejects with ENOENT when there is none); `''` for anything that
 * is not a regular file (a link, a FIFO, a directory), which then reads as garbage.
 */
export async function readPlain(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (err) {
    if (isErrno(err, 'ELOOP')) return '';
    throw err;
  }
  try {
    return (await handle.stat()).isFile() ? await handle.readFile('utf8') : '';
  } finally {
    await handle.close();
  }
}
