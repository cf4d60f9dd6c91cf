// What the primary of `drupe serve --workers` hands its workers beyond the pool's own messages.
import { fileURLToPath } from 'node:url';

/** The environment variable that carries the SiteSpec (JSON) to each worker. */
export const SITE_ENV = 'DRUPE_CLI_SITE';
/** The script each worker runs. */
export const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
