// --watch: CherryPy's autoreloader. A change under the module's folder asks for a restart,
// once the changes have stopped for a moment (an editor's save is several events).
import { watch, type FSWatcher } from 'node:fs';
import { sep } from 'node:path';

/** How long the tree must be quiet after a change before the restart, in ms. */
export const WATCH_DEBOUNCE_MS = 300;

/** Paths that never restart the app: dependencies and dot-folders (.git, .cache, …) and dot-files. */
export function ignored(relative: string): boolean {
  return relative.split(/[\\/]/).some((part) => part === 'node_modules' || part.startsWith('.'));
}

/**
 * Watch `dir` and everything under it (fs.watch's `recursive`: Linux from node 20, macOS,
 * Windows); call `onChange` with the files changed since the last call, debounced.
 */
export function watchTree(dir: string, onChange: (files: string[]) => void, debounceMs = WATCH_DEBOUNCE_MS): { close(): void } {
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, filename) => {
    const relative = filename === null ? '' : String(filename);
    if (relative !== '' && ignored(relative)) return;
    changed.add(relative === '' ? dir : `${dir}${sep}${relative}`);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...changed];
      changed.clear();
      onChange(files);
    }, debounceMs);
  });
  // A watcher that fails (the folder removed) stops watching; the app keeps serving.
  watcher.on('error', () => watcher.close());
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
