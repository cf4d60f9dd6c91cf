import { expose } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

export class Downloads {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Downloads and uploads', '<h1>Downloads and uploads</h1><p>Being built.</p>', { source: 'downloads.ts#index' });
  }
  // #endregion
}
