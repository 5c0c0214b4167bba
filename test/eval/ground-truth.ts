/**
 * The real annotations of ../shared/data, read directly (independent of src/data) so that metric
 * tests check the arithmetic of src/eval against ground truth they parse themselves.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import type { LandmarkItem, Point } from '../../src/data/types';
import type { EvaluationDataset } from '../../src/eval';

function pointsOf(numbers: number[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < numbers.length; i += 2) out.push([numbers[i], numbers[i + 1]]);
  return out;
}

/** ISBI 2015: mean of senior and junior annotations, 1935x2400 at 0.1 mm/px; ids 001..`count`. */
export function headDataset(root: string, count: number): EvaluationDataset {
  const items: LandmarkItem[] = [];
  for (let n = 1; n <= count; n++) {
    const id = String(n).padStart(3, '0');
    const read = (who: string): number[] =>
      readFileSync(join(root, 'isbi2015', 'AnnotationsByMD', who, `${id}.txt`), 'utf8').trim().split(/\r?\n/).slice(0, 19).flatMap((l) => l.split(',').map(Number));
    const s = read('400_senior');
    const j = read('400_junior');
    items.push({ id, imagePath: join(root, 'isbi2015', `${id}.jpg`), landmarks: pointsOf(s.map((v, k) => (v + j[k]) / 2)), width: 1935, height: 2400, mmPerPixel: 0.1 });
  }
  return { format: 'isbi2015', grid: { height: 512, width: 416 }, unit: 'mm', landmarkCount: 19, items };
}

/** Digital Hand Atlas rows of all.csv; `withImagesOnly` keeps the 9 ids with an .mha (whose header gives the size). */
export function handDataset(root: string, withImagesOnly: boolean): EvaluationDataset {
  const sizes = new Map<string, [number, number]>();
  for (const f of readdirSync(join(root, 'hand-dha', 'images'))) {
    const header = readFileSync(join(root, 'hand-dha', 'images', f)).subarray(0, 1024).toString('latin1');
    const dims = /DimSize = (\d+) (\d+)/.exec(header);
    if (dims) sizes.set(f.replace(/\.mha$/, ''), [Number(dims[1]), Number(dims[2])]);
  }
  const items: LandmarkItem[] = [];
  for (const line of readFileSync(join(root, 'hand-dha', 'all.csv'), 'utf8').trim().split(/\r?\n/)) {
    const [id, ...rest] = line.split(',');
    const size = sizes.get(id);
    if (withImagesOnly && !size) continue;
    items.push({ id, imagePath: join(root, 'hand-dha', 'images', `${id}.mha`), landmarks: pointsOf(rest.map(Number)), width: size?.[0] ?? 0, height: size?.[1] ?? 0 });
  }
  items.sort((a, b) => Number(a.id) - Number(b.id));
  return { format: 'hand-dha', grid: { height: 512, width: 368 }, unit: 'mm', landmarkCount: 37, items };
}

/** The Shenzhen chest images present as PNG, labels (ratios) scaled by the PNG size. */
export async function chestDataset(root: string): Promise<EvaluationDataset> {
  const items: LandmarkItem[] = [];
  for (const f of readdirSync(join(root, 'chest-shenzhen', 'pngs')).sort()) {
    const id = f.replace(/\.png$/, '');
    const imagePath = join(root, 'chest-shenzhen', 'pngs', f);
    const meta = await sharp(imagePath).metadata();
    const [count, ...lines] = readFileSync(join(root, 'chest-shenzhen', 'labels', `${id}.txt`), 'utf8').trim().split(/\r?\n/);
    const ratios = lines.slice(0, Number(count)).map((l) => l.trim().split(/\s+/).map(Number));
    items.push({ id, imagePath, landmarks: ratios.map(([rx, ry]): Point => [rx * meta.width!, ry * meta.height!]), width: meta.width!, height: meta.height! });
  }
  return { format: 'chest-shenzhen', grid: { height: 512, width: 512 }, unit: 'px', landmarkCount: 6, items };
}

/** Predictions made from the ground truth by `move(point, imageIndex, landmarkIndex)`. */
export function shifted(dataset: EvaluationDataset, move: (p: Point, item: LandmarkItem, i: number, j: number) => Point): Map<string, Point[]> {
  return new Map(dataset.items.map((item, i) => [item.id, item.landmarks.map((p, j) => move(p, item, i, j))]));
}
