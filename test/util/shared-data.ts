import { existsSync } from 'fs';
import { join, resolve } from 'path';

/**
 * The real data sets in ../shared/data (from the project root), or undefined where absent. LMK_SHARED_DATA=none
 * hides them, as on a fresh clone: CI runs the suites that use them that way too, so that a suite reading them
 * outside a skipped test or hook fails there.
 */
export const SHARED_DATA: string | undefined = (() => {
  const setting = process.env.LMK_SHARED_DATA;
  if (setting === 'none') return undefined;
  if (setting !== undefined) throw new Error(`LMK_SHARED_DATA: 'none' (hide ../shared/data) is the one value, got '${setting}'`);
  const dir = resolve(__dirname, '..', '..', '..', 'shared', 'data');
  return existsSync(join(dir, 'README.md')) ? dir : undefined;
})();

/**
 * `describe` that skips where ../shared/data is absent. Its body still runs at collection: read the data only in
 * its tests and hooks, never in the body.
 */
export const describeWithSharedData: jest.Describe = SHARED_DATA ? describe : describe.skip;
