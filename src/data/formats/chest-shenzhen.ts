import { promises as fsp } from 'fs';
import { join } from 'path';
import { DatasetError, errorMessage, numberedLines, parseNumber, readText } from '../parse';
import { MissingItem, Point } from '../types';
import { FormatIndex, IndexEntry } from './entry';

/**
 * Shenzhen chest set with Zhu et al.'s labels: labels/CHNCXR_NNNN_L.txt (first line the landmark count,
 * then `x_ratio y_ratio` per landmark, fractions of width and height), images pngs/CHNCXR_NNNN_L.png.
 * Errors in pixels. Published split over the sorted labels: first 229 train, the rest test.
 */

export const CHEST_LANDMARKS = 6;
const TRAIN_COUNT = 229;

export async function readChestLabel(path: string): Promise<Point[]> {
  const lines = numberedLines(await readText(path, 'label file'));
  if (lines.length === 0) throw new DatasetError(`${path}: empty label file`);
  const count = parseNumber(lines[0].text, `${path}:1`);
  if (count !== CHEST_LANDMARKS) throw new DatasetError(`${path}:1: landmark count ${count}, ${CHEST_LANDMARKS} expected`);
  if (lines.length - 1 !== count) throw new DatasetError(`${path}: header says ${count} landmarks, file has ${lines.length - 1} coordinate lines`);
  return lines.slice(1).map(({ line, text }) => {
    const fields = text.trim().split(/\s+/);
    if (fields.length !== 2) throw new DatasetError(`${path}:${line}: expected 'x_ratio y_ratio', got '${text.trim()}'`);
    return [parseNumber(fields[0], `${path}:${line}`), parseNumber(fields[1], `${path}:${line}`)] as Point;
  });
}

export async function indexChestShenzhen(root: string): Promise<FormatIndex> {
  const labelDir = join(root, 'labels');
  let names: string[];
  try {
    names = (await fsp.readdir(labelDir)).filter((n) => n.endsWith('.txt')).sort();
  } catch {
    throw new DatasetError(`${labelDir}: label folder not found`);
  }
  if (names.length === 0) throw new DatasetError(`${labelDir}: no label files (CHNCXR_NNNN_L.txt) found`);
  let images: Set<string>;
  try {
    images = new Set(await fsp.readdir(join(root, 'pngs')));
  } catch {
    images = new Set();
  }
  const problems: MissingItem[] = [];
  const entries: IndexEntry[] = [];
  await Promise.all(names.map(async (name, i) => {
    const id = name.slice(0, -4);
    try {
      entries.push({
        id,
        landmarks: await readChestLabel(join(labelDir, name)),
        normalized: true,
        imagePath: images.has(`${id}.png`) ? join(root, 'pngs', `${id}.png`) : undefined,
        imageLookedFor: join(root, 'pngs', `${id}.png`),
        split: i < TRAIN_COUNT ? 'train' : 'test',
      });
    } catch (err) {
      problems.push({ id, reason: errorMessage(err) });
    }
  }));
  const labelled = new Set(names.map((n) => n.slice(0, -4)));
  for (const image of [...images].sort()) {
    const id = image.replace(/\.png$/i, '');
    if (image.toLowerCase().endsWith('.png') && !labelled.has(id)) problems.push({ id, reason: `${join(root, 'pngs', image)}: image has no label file` });
  }
  entries.sort((a, b) => a.id.localeCompare(b.id));
  return { landmarkCount: CHEST_LANDMARKS, entries, problems };
}
