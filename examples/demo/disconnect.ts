import { expose } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

export class Disconnect {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Disconnect', '<h1>Disconnect</h1><p>Being built.</p>', { source: 'disconnect.ts#index' });
  }
  // #endregion
}
