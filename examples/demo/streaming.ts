import { expose } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

export class Streaming {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Streamed HTML', '<h1>Streamed HTML</h1><p>Being built.</p>', { source: 'streaming.ts#index' });
  }
  // #endregion
}
