import { createReadStream, promises as fsp } from 'fs';
import { basename, dirname, join } from 'path';
import { createInterface } from 'readline';
import { MEASUREMENT_NAMES } from '../cephalometry';
import type { PredictionLine } from './archive';

function csvField(value: string | number | null | undefined): string {
  if (value === null) return '';
  if (value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Rewrites `csvPath` from a predictions JSONL file: one row per line with `file,id,width,height,mean_score,mirrored`
 * (mirrored 1 where the landmarks were found on the mirrored image), then for
 * landmark codes C (the model's, `L1`... where it names none) `C_x,C_y,...`, `C_x_mm,C_y_mm,...` (empty
 * where the spacing is unknown) and `C_score,...`, and where the lines carry cephalometric measurements
 * `M,M_unit,M_class` for each of the eight. Streams both files (an archive's JSONL may be large) into a
 * temporary file renamed over the old CSV.
 */
export async function writePredictionsCsv(jsonlPath: string, csvPath: string, codes?: string[]): Promise<number> {
  const tmp = join(dirname(csvPath), `.${basename(csvPath)}.${process.pid}.tmp`);
  const out = await fsp.open(tmp, 'w');
  let rows = 0;
  let count: number | undefined;
  let measured = false;
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
        measured = r.measurements !== undefined;
        if (codes && codes.length !== count) throw new Error(`${jsonlPath}:${lineNo}: ${count} landmarks, the model names ${codes.length}; use one --out folder per model`);
        const c = codes ?? Array.from({ length: count }, (_, i) => `L${i + 1}`);
        const header = ['file', 'id', 'width', 'height', 'mean_score', 'mirrored', ...c.flatMap((k) => [`${k}_x`, `${k}_y`]), ...c.flatMap((k) => [`${k}_x_mm`, `${k}_y_mm`]), ...c.map((k) => `${k}_score`),
          ...(measured ? MEASUREMENT_NAMES.flatMap((m) => [m, `${m}_unit`, `${m}_class`]) : [])];
        chunk.push(header.map(csvField).join(','));
      } else if (r.landmarks.length !== count) {
        throw new Error(`${jsonlPath}:${lineNo}: ${r.landmarks.length} landmarks where earlier lines have ${count}; use one --out folder per model`);
      }
      const mm = r.landmarksMm ?? r.landmarks.map((): [undefined, undefined] => [undefined, undefined]);
      const measures = measured ? MEASUREMENT_NAMES.flatMap((m) => {
        const v = r.measurements?.[m];
        return [v?.value, v?.unit, v?.class ?? undefined];
      }) : [];
      chunk.push([r.file, r.id, r.width, r.height, r.meanScore, r.mirrored ? 1 : 0, ...r.landmarks.flat(), ...mm.flat(), ...r.scores, ...measures].map(csvField).join(','));
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
