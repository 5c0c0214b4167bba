import { readFileSync } from 'fs';
import type { Point } from '../data/types';
import { writeFileAtomic } from '../util/fs';
import type { Predictions } from './protocols';

/** One prediction line: `{"id": ..., "landmarks": [[x, y], ...]}` in original image pixels. */
export interface PredictionRecord {
  id: string;
  landmarks: Point[];
}

function parseLine(text: string, where: string): PredictionRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected an object {"id", "landmarks"}`);
  const { id, landmarks } = value as { id?: unknown; landmarks?: unknown };
  if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`${where}: "id" must be a string or a number`);
  if (!Array.isArray(landmarks) || landmarks.length === 0) throw new Error(`${where}: "landmarks" must be a non-empty array of [x, y]`);
  const points = landmarks.map((p: unknown, j: number): Point => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((c) => typeof c === 'number' && Number.isFinite(c))) {
      throw new Error(`${where}: landmark ${j + 1} is not [x, y] with finite numbers`);
    }
    return [p[0] as number, p[1] as number];
  });
  return { id: String(id), landmarks: points };
}

/** Parses predictions JSONL text; `file` names the source in errors (with the line number). */
export function parsePredictions(text: string, file: string): Predictions {
  const out: Predictions = new Map();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    const record = parseLine(line, where);
    if (out.has(record.id)) throw new Error(`${where}: a second prediction for id '${record.id}'`);
    out.set(record.id, record.landmarks);
  });
  if (out.size === 0) throw new Error(`${file}: no predictions (expected one JSON object per line)`);
  return out;
}

export function readPredictions(file: string): Predictions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read predictions (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parsePredictions(text, file);
}

export function formatPredictions(records: PredictionRecord[]): string {
  return records.map((r) => JSON.stringify({ id: r.id, landmarks: r.landmarks })).join('\n') + '\n';
}

export async function writePredictions(file: string, records: PredictionRecord[]): Promise<void> {
  await writeFileAtomic(file, formatPredictions(records));
}
