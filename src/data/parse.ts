import { promises as fsp } from 'fs';
import { Point } from './types';

/** A problem in a data set's files: the message names the file (and line where it applies). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DatasetError(`${path}: ${code === 'ENOENT' ? `${what} not found` : (err as Error).message}`);
  }
}

/** Lines with their 1-based numbers, without line terminators; trailing blank lines dropped. */
export function numberedLines(text: string): { line: number; text: string }[] {
  const lines = text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t }));
  while (lines.length > 0 && lines[lines.length - 1].text.trim() === '') lines.pop();
  return lines;
}

/** A finite number, or an error naming the file and line. */
export function parseNumber(field: string, where: string): number {
  const trimmed = field.trim();
  const value = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) throw new DatasetError(`${where}: '${trimmed}' is not a finite number`);
  return value;
}

/** Pairs x1, y1, x2, y2, ... into points. */
export function toPoints(values: number[]): Point[] {
  const points: Point[] = [];
  for (let i = 0; i + 1 < values.length; i += 2) points.push([values[i], values[i + 1]]);
  return points;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
