import { expose } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

export class Live {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Live feed', '<h1>Live feed</h1><p>Being built.</p>', { source: 'live.ts#index' });
  }
  // #endregion
}
