import { existsSync } from 'fs';
import { join, resolve } from 'path';

/** The real data sets in ../shared/data (from the project root), or undefined where absent. */
export const SHARED_DATA: string | undefined = (() => {
  const dir = resolve(__dirname, '..', '..', '..', 'shared', 'data');
  return existsSync(join(dir, 'README.md')) ? dir : undefined;
})();

/** `describe` that skips (and says why) where ../shared/data is absent. */
export const describeWithSharedData: jest.Describe = SHARED_DATA ? describe : describe.skip;
