import { createReadStream, promises as fsp } from 'fs';
import { basename, dirname, join } from 'path';
import { createInterface } from 'readline';
import type { PredictionLine } from './archive';

function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Rewrites `csvPath` from a predictions JSONL file: one row per line with `file,id,width,height`, then
 * `x1,y1,...,xK,yK`, `x1_mm,y1_mm,...` (empty where the spacing is unknown) and `score1..scoreK`.
 * Streams both files (an archive's JSONL may be large) into a temporary file renamed over the old CSV.
 */
export async function writePredictionsCsv(jsonlPath: string, csvPath: string): Promise<number> {
  const tmp = join(dirname(csvPath), `.${basename(csvPath)}.${process.pid}.tmp`);
  const out = await fsp.open(tmp, 'w');
  let rows = 0;
  let count: number | undefined;
  try {
    const lines = createInterface({ input: createReadStream(jsonlPath, 'utf8'), crlfDelay: Infinity });
    let chunk: string[] = [];
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      const r = JSON.parse(line) as PredictionLine;
      if (count === undefined) {
        count = r.landmarks.length;
        const k = Array.from({ length: count }, (_, i) => i + 1);
        const header = ['file', 'id', 'width', 'height', ...k.flatMap((i) => [`x${i}`, `y${i}`]), ...k.flatMap((i) => [`x${i}_mm`, `y${i}_mm`]), ...k.map((i) => `score${i}`)];
        chunk.push(header.join(','));
      } else if (r.landmarks.length !== count) {
        throw new Error(`${jsonlPath}:${lineNo}: ${r.landmarks.length} landmarks where earlier lines have ${count}; use one --out folder per model`);
      }
      const mm = r.landmarksMm ?? r.landmarks.map((): [undefined, undefined] => [undefined, undefined]);
      chunk.push([r.file, r.id, r.width, r.height, ...r.landmarks.flat(), ...mm.flat(), ...r.scores].map(csvField).join(','));
      rows++;
      if (chunk.length >= 1000) {
        await out.write(`${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length) await out.write(`${chunk.join('\n')}\n`);
    await out.sync();
    await out.close();
    await fsp.rename(tmp, csvPath);
  } catch (err) {
    await out.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  return rows;
}
