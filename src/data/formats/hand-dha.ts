import { promises as fsp } from 'fs';
import { join } from 'path';
import { DatasetError, errorMessage, numberedLines, parseNumber, readText, toPoints } from '../parse';
import { MissingItem } from '../types';
import { FormatIndex, IndexEntry } from './entry';

/**
 * Digital Hand Atlas as Payer et al. distribute its landmarks: all.csv without header, rows
 * `id,x1,y1,...,x37,y37` in original pixels; images `<id>.jpg` or `<id>.mha` anywhere under the root.
 * Scale: 50 mm between landmarks 1 and 5 (wrist width). Published split over the sorted ids of all.csv:
 * first 609 train, last 300 test.
 */

export const HAND_LANDMARKS = 37;
const TRAIN_COUNT = 609;
const TEST_COUNT = 300;
const IMAGE_EXTENSIONS = ['.jpg', '.mha'];

/** `<id>.jpg|.mha` files anywhere under `dir`, first found by extension preference. */
async function findImages(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  const candidates = entries
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath ?? (e as unknown as { path: string }).path, e.name), m: /^(\d+)(\.[a-z]+)$/i.exec(e.name) }))
    .filter((c) => c.m && IMAGE_EXTENSIONS.includes(c.m[2].toLowerCase()))
    .sort((a, b) => IMAGE_EXTENSIONS.indexOf(a.m![2].toLowerCase()) - IMAGE_EXTENSIONS.indexOf(b.m![2].toLowerCase()) || a.path.localeCompare(b.path));
  for (const c of candidates) if (!found.has(c.m![1])) found.set(c.m![1], c.path);
  return found;
}

/** mm per pixel from the wrist width: 50 mm between landmarks 1 and 5. */
export function handMmPerPixel(landmarks: [number, number][]): number | undefined {
  const d = Math.hypot(landmarks[0][0] - landmarks[4][0], landmarks[0][1] - landmarks[4][1]);
  return d > 0 ? 50 / d : undefined;
}

export async function indexHandDha(root: string): Promise<FormatIndex> {
  const csvPath = join(root, 'all.csv');
  const lines = numberedLines(await readText(csvPath, 'landmark table all.csv'));
  const problems: MissingItem[] = [];
  const rows = new Map<string, IndexEntry>();
  for (const { line, text } of lines) {
    const fields = text.split(',');
    const id = fields[0].trim();
    try {
      if (!/^\d+$/.test(id)) throw new DatasetError(`${csvPath}:${line}: id '${id}' is not a number`);
      if (fields.length !== 1 + 2 * HAND_LANDMARKS) {
        throw new DatasetError(`${csvPath}:${line}: ${(fields.length - 1) / 2} landmarks, ${HAND_LANDMARKS} expected (${1 + 2 * HAND_LANDMARKS} fields)`);
      }
      if (rows.has(id)) throw new DatasetError(`${csvPath}:${line}: id ${id} appears twice`);
      const landmarks = toPoints(fields.slice(1).map((f, i) => parseNumber(f, `${csvPath}:${line} field ${i + 2}`)));
      const mmPerPixel = handMmPerPixel(landmarks);
      if (mmPerPixel === undefined) throw new DatasetError(`${csvPath}:${line}: landmarks 1 and 5 coincide, so the 50 mm wrist scale is undefined`);
      rows.set(id, { id, landmarks, mmPerPixel });
    } catch (err) {
      problems.push({ id: id || `line ${line}`, reason: errorMessage(err) });
    }
  }
  const entries = [...rows.values()].sort((a, b) => Number(a.id) - Number(b.id));
  const testStart = Math.max(TRAIN_COUNT, entries.length - TEST_COUNT);
  const images = await findImages(root);
  entries.forEach((e, i) => {
    e.split = i < TRAIN_COUNT ? 'train' : i >= testStart ? 'test' : undefined;
    e.imagePath = images.get(e.id);
    e.imageLookedFor = join(root, '**', `${e.id}{${IMAGE_EXTENSIONS.join(',')}}`);
  });
  for (const [id, path] of images) if (!rows.has(id)) problems.push({ id, reason: `${path}: image has no row in ${csvPath}` });
  return { landmarkCount: HAND_LANDMARKS, entries, problems };
}
