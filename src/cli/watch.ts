// --watch: CherryPy's autoreloader. A change under the module's folder asks for a restart,
// once the changes have stopped for a moment (an editor's save is several events).
import { watch, type FSWatcher } from 'node:fs';
import { relative as relativeTo, resolve } from 'node:path';

/** How long the tree must be quiet after a change before the restart, in ms. */
export const WATCH_DEBOUNCE_MS = 300;

/**
 * Paths that never restart the app: dependencies, dot-folders (.git, .cache, …) and dot-files,
 * and log files (`*.log`, and `skip`: the configured log files), which a running app writes
 * and would otherwise restart itself with, forever.
 */
export function ignored(relative: string, skip: ReadonlySet<string> = new Set()): boolean {
  if (relative.endsWith('.log') || skip.has(relative)) return true;
  return relative.split(/[\\/]/).some((part) => part === 'node_modules' || part.startsWith('.'));
}

/**
 * Watch `dir` and everything under it (fs.watch's `recursive`: Linux from node 20, macOS,
 * Windows); call `onChange` with the files changed since the last call (relative to `dir`),
 * debounced. `skip` holds absolute paths to ignore as well.
 */
export function watchTree(dir: string, onChange: (files: string[]) => void, skip: readonly string[] = [], debounceMs = WATCH_DEBOUNCE_MS): { close(): void } {
  const skipped = new Set(skip.map((file) => relativeTo(dir, resolve(dir, file))));
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dir, { recursive: true }, (_event, filename) => {
    const relative = filename === null ? '' : String(filename);
    if (relative !== '' && ignored(relative, skipped)) return;
    changed.add(relative === '' ? '.' : relative);
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
