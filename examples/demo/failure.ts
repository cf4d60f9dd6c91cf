import { expose } from '../../src/index.js';
import { page } from './layout.js';
import type { DemoOptions } from './options.js';

export class Failure {
  constructor(readonly options: DemoOptions) {}

  // #region index
  @expose()
  index(): string {
    return page('Failure made visible', '<h1>Failure made visible</h1><p>Being built.</p>', { source: 'failure.ts#index' });
  }
  // #endregion
}
