import { promises as fsp } from 'fs';
import { join } from 'path';
import { DatasetError, errorMessage, numberedLines, parseNumber, readText } from '../parse';
import { MissingItem, Point } from '../types';
import { FormatIndex, IndexEntry } from './entry';

/**
 * ISBI 2015 cephalometric (head) layout: RawImage/{TrainingData,Test1Data,Test2Data}/NNN.bmp (or .png/.jpg),
 * AnnotationsByMD/400_senior/NNN.txt and 400_junior/NNN.txt with 19 `x,y` lines first (later lines ignored).
 * A landmark is the mean of the two doctors; 0.1 mm per pixel. Published split: ids 1-150 train, 151-400 test.
 */

export const ISBI_LANDMARKS = 19;
const IMAGE_FOLDERS = ['TrainingData', 'Test1Data', 'Test2Data'];
// In order of preference where one id has several; DICOM for copies of the images as a PACS holds them.
const IMAGE_EXTENSIONS = ['.bmp', '.png', '.jpg', '.jpeg', '.dcm'];

async function listDir(path: string): Promise<string[]> {
  try {
    return await fsp.readdir(path);
  } catch {
    return [];
  }
}

/** The first 19 lines of one doctor's file as points. */
export async function readIsbiAnnotation(path: string): Promise<Point[]> {
  const lines = numberedLines(await readText(path, 'annotation file'));
  if (lines.length < ISBI_LANDMARKS) throw new DatasetError(`${path}: ${lines.length} lines, ${ISBI_LANDMARKS} landmark lines expected`);
  return lines.slice(0, ISBI_LANDMARKS).map(({ line, text }) => {
    const fields = text.split(',');
    if (fields.length !== 2) throw new DatasetError(`${path}:${line}: expected 'x,y', got '${text.trim()}'`);
    return [parseNumber(fields[0], `${path}:${line}`), parseNumber(fields[1], `${path}:${line}`)] as Point;
  });
}

export async function indexIsbi2015(root: string): Promise<FormatIndex> {
  const seniorDir = join(root, 'AnnotationsByMD', '400_senior');
  const juniorDir = join(root, 'AnnotationsByMD', '400_junior');
  const [senior, junior] = await Promise.all([listDir(seniorDir), listDir(juniorDir)]);
  const annotationId = (name: string): string | undefined => /^(\d+)\.txt$/.exec(name)?.[1];
  const ids = [...new Set([...senior, ...junior].map(annotationId).filter((id): id is string => id !== undefined))]
    .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  if (ids.length === 0) throw new DatasetError(`${join(root, 'AnnotationsByMD')}: no annotation files (400_senior/NNN.txt, 400_junior/NNN.txt) found`);

  const images = new Map<string, string>();
  for (const folder of IMAGE_FOLDERS) {
    for (const name of (await listDir(join(root, 'RawImage', folder))).sort()) {
      const m = /^(\d+)(\.[a-z]+)$/i.exec(name);
      if (!m || !IMAGE_EXTENSIONS.includes(m[2].toLowerCase())) continue;
      const known = images.get(m[1]);
      const better = !known || IMAGE_EXTENSIONS.indexOf(m[2].toLowerCase()) < IMAGE_EXTENSIONS.indexOf(known.slice(known.lastIndexOf('.')).toLowerCase());
      if (better) images.set(m[1], join(root, 'RawImage', folder, name));
    }
  }

  const problems: MissingItem[] = [];
  const entries: IndexEntry[] = [];
  await Promise.all(ids.map(async (id) => {
    try {
      const [a, b] = await Promise.all([readIsbiAnnotation(join(seniorDir, `${id}.txt`)), readIsbiAnnotation(join(juniorDir, `${id}.txt`))]);
      const n = Number(id);
      entries.push({
        id,
        imagePath: images.get(id),
        imageLookedFor: join(root, 'RawImage', `{${IMAGE_FOLDERS.join(',')}}`, `${id}{${IMAGE_EXTENSIONS.join(',')}}`),
        landmarks: a.map((p, i) => [(p[0] + b[i][0]) / 2, (p[1] + b[i][1]) / 2]),
        mmPerPixel: 0.1,
        split: n >= 1 && n <= 150 ? 'train' : n >= 151 && n <= 400 ? 'test' : undefined,
      });
    } catch (err) {
      problems.push({ id, reason: errorMessage(err) });
    }
  }));
  const annotated = new Set(ids);
  for (const [id, path] of images) if (!annotated.has(id)) problems.push({ id, reason: `${path}: image has no annotation files` });
  entries.sort((x, y) => Number(x.id) - Number(y.id));
  return { landmarkCount: ISBI_LANDMARKS, entries, problems };
}
