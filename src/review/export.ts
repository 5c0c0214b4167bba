import { existsSync, promises as fsp, statSync } from 'fs';
import { join, resolve } from 'path';
import type { LandmarkName } from '../data/landmark-names';
import { writeFileAtomic } from '../util/fs';
import { ReviewError, ReviewStore } from './journal';

/**
 * The accepted images of a review as a `csv` data set (src/data/formats/csv.ts) that `lmk train --format csv
 * --root DIR` reads as it is: DIR/landmarks.csv, `image,x1,y1,...,xN,yN,split`, the images by their absolute
 * paths (they stay where they are), the split left empty (training data; write `test` to hold a row out).
 */

export interface ExportResult {
  csvFile: string;
  /** DIR/landmark-names.txt for `lmk train --landmark-names`, where the names are known. */
  namesFile?: string;
  exported: number;
  /** Moved points saved but the image not accepted: left out. */
  notAccepted: number;
  /** Accepted, but the image file is gone: left out. */
  missing: number;
}

const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export async function exportReviewed(outDir: string, dir: string, landmarkNames?: LandmarkName[]): Promise<ExportResult> {
  const store = await ReviewStore.load(resolve(outDir));
  const k = store.landmarkCount;
  if (landmarkNames && landmarkNames.length !== k) throw new ReviewError(`the model names ${landmarkNames.length} landmarks, ${store.predictionsFile} has ${k}`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ReviewError(`${dir}: exists and is not a folder`);
  const header = ['image', ...Array.from({ length: k }, (_, j) => [`x${j + 1}`, `y${j + 1}`]).flat(), 'split'];
  const rows = [header.join(',')];
  let notAccepted = 0;
  let missing = 0;
  for (const item of store.items) {
    const r = store.reviewed.get(item.index);
    if (!r) continue;
    if (!r.accepted) notAccepted++;
    else if (!existsSync(item.file)) missing++;
    else rows.push([csvField(resolve(item.file)), ...r.landmarks.flatMap(([x, y]) => [String(x), String(y)]), ''].join(','));
  }
  const exported = rows.length - 1;
  if (exported === 0) {
    throw new ReviewError(`${store.reviewedFile}: no accepted images to export${notAccepted ? ` (${notAccepted} have moved points but are not accepted: accept them on the page)` : ''}${missing ? ` (${missing} accepted images are no longer there)` : ''}`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const csvFile = join(dir, 'landmarks.csv');
  await writeFileAtomic(csvFile, `${rows.join('\n')}\n`);
  let namesFile: string | undefined;
  if (landmarkNames) {
    namesFile = join(dir, 'landmark-names.txt');
    await writeFileAtomic(namesFile, `${landmarkNames.map((n) => `${n.code},${n.name}`).join('\n')}\n`);
  }
  return { csvFile, namesFile, exported, notAccepted, missing };
}
