import { promises as fsp } from 'fs';
import { resolve } from 'path';
import { readImageInfo } from '../io';
import { indexChestShenzhen } from './formats/chest-shenzhen';
import { indexCsv } from './formats/csv';
import { FormatIndex, IndexEntry } from './formats/entry';
import { indexHandDha } from './formats/hand-dha';
import { indexIsbi2015 } from './formats/isbi2015';
import { DatasetError, errorMessage } from './parse';
import { DEFAULT_FOLD_SEED, selectFold, validateFolds } from './splits';
import { Dataset, FormatName, LandmarkItem, MissingItem, PhysicalUnit } from './types';

export const FORMATS: FormatName[] = ['isbi2015', 'hand-dha', 'chest-shenzhen', 'csv'];

/** The published benchmark's model grids (h x w). */
export const DEFAULT_GRIDS: Record<FormatName, { height: number; width: number }> = {
  isbi2015: { height: 512, width: 416 },
  'hand-dha': { height: 512, width: 368 },
  'chest-shenzhen': { height: 512, width: 512 },
  csv: { height: 512, width: 512 },
};

export type SplitSelection = 'train' | 'val' | 'test' | 'all';
export const SPLITS: SplitSelection[] = ['train', 'val', 'test', 'all'];

export interface LoadDatasetOptions {
  format: FormatName;
  root: string;
  /** 'train' and 'test' are the published splits; 'val' is fold `fold` of the training split (needs `folds`). Default 'all'. */
  split?: SplitSelection;
  /** k-fold cross-validation over the training split: with split 'train', the other folds; with 'val', this one. */
  folds?: number;
  fold?: number;
  foldSeed?: number;
  /** Model grid (h x w) instead of the format's default. */
  grid?: { height: number; width: number };
}

/** A landmark more than this fraction of the image size beyond its border is an annotation error. */
const OUTSIDE_TOLERANCE = 0.1;
const HEADER_CONCURRENCY = 8;

const INDEXERS: Record<FormatName, (root: string) => Promise<FormatIndex>> = {
  isbi2015: indexIsbi2015,
  'hand-dha': indexHandDha,
  'chest-shenzhen': indexChestShenzhen,
  csv: indexCsv,
};

function validate(options: LoadDatasetOptions): void {
  if (!FORMATS.includes(options.format)) throw new DatasetError(`unknown format '${options.format}' (one of ${FORMATS.join(', ')})`);
  const split = options.split ?? 'all';
  if (!SPLITS.includes(split)) throw new DatasetError(`unknown split '${split}' (one of ${SPLITS.join(', ')})`);
  const foldsGiven = options.folds !== undefined || options.fold !== undefined;
  if (foldsGiven) {
    if (options.folds === undefined || options.fold === undefined) throw new DatasetError('folds and fold go together');
    validateFolds(options.folds, options.fold);
    if (split !== 'train' && split !== 'val') throw new DatasetError(`folds divide the training split: use split 'train' or 'val', not '${split}'`);
  } else if (split === 'val') {
    throw new DatasetError("split 'val' is a fold of the training split: give folds and fold");
  }
  const grid = options.grid;
  if (grid && !(Number.isInteger(grid.height) && Number.isInteger(grid.width) && grid.height > 0 && grid.width > 0)) {
    throw new DatasetError(`grid must be positive integers, got ${grid.height}x${grid.width}`);
  }
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Numeric ids in numeric order, others by text. */
function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb || a.localeCompare(b) : a.localeCompare(b);
}

/** Reads the image header and checks the landmarks against it; throws a message naming the file. */
async function toItem(entry: IndexEntry, landmarkCount: number): Promise<LandmarkItem> {
  const path = entry.imagePath!;
  const info = await readImageInfo(path);
  const { width, height } = info;
  const landmarks = entry.normalized ? entry.landmarks.map(([x, y]) => [x * width, y * height] as [number, number]) : entry.landmarks;
  if (landmarks.length !== landmarkCount) throw new DatasetError(`${path}: ${landmarks.length} landmarks, ${landmarkCount} expected`);
  landmarks.forEach(([x, y], i) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new DatasetError(`${path}: landmark ${i + 1} is not finite (${x}, ${y})`);
    const mx = OUTSIDE_TOLERANCE * width;
    const my = OUTSIDE_TOLERANCE * height;
    if (x < -mx || x > width - 1 + mx || y < -my || y > height - 1 + my) {
      throw new DatasetError(`${path}: landmark ${i + 1} at (${x}, ${y}) is far outside the ${width}x${height} image`);
    }
  });
  const item: LandmarkItem = { id: entry.id, imagePath: path, landmarks, width, height };
  if (entry.mmPerPixel !== undefined) item.mmPerPixel = entry.mmPerPixel;
  if (entry.split) item.split = entry.split;
  return item;
}

/**
 * Loads a data set in one of the known layouts. Items need both annotations and a readable image header;
 * the others are listed in `missing` with the reason (naming the file), and the rest still load.
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<Dataset> {
  validate(options);
  const root = resolve(options.root);
  const stat = await fsp.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new DatasetError(`${root}: data set root is not a directory`);
  const index = await INDEXERS[options.format](root);
  const missing: MissingItem[] = [...index.problems];
  const withImage = index.entries.filter((e) => {
    if (!e.imagePath) missing.push({ id: e.id, reason: `no image found (looked for ${e.imageLookedFor})` });
    return e.imagePath !== undefined;
  });
  const loaded = await mapLimited(withImage, HEADER_CONCURRENCY, async (entry) => {
    try {
      return await toItem(entry, index.landmarkCount);
    } catch (err) {
      missing.push({ id: entry.id, reason: errorMessage(err) });
      return undefined;
    }
  });
  missing.sort((a, b) => compareIds(a.id, b.id));
  let items = loaded.filter((i): i is LandmarkItem => i !== undefined);
  const split = options.split ?? 'all';
  if (split === 'test') items = items.filter((i) => i.split === 'test');
  if (split === 'train' || split === 'val') {
    items = items.filter((i) => i.split === 'train');
    if (options.folds !== undefined && options.fold !== undefined) {
      items = selectFold(items, options.folds, options.fold, options.foldSeed ?? DEFAULT_FOLD_SEED)[split === 'train' ? 'train' : 'val'];
    }
  }
  const unit: PhysicalUnit = options.format === 'chest-shenzhen' || (options.format === 'csv' && !index.entries.some((e) => e.mmPerPixel !== undefined)) ? 'px' : 'mm';
  return {
    format: options.format,
    root,
    landmarkCount: index.landmarkCount,
    items,
    missing,
    grid: options.grid ?? DEFAULT_GRIDS[options.format],
    unit,
  };
}
