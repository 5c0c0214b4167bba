import { createReadStream, existsSync, promises as fsp, statSync } from 'fs';
import { join } from 'path';
import { createInterface } from 'readline';
import type { Point } from '../data';
import { ERRORS_FILE, JsonlJournal, PREDICTIONS_FILE, SHARDS_DIR } from '../predict';

/**
 * What `lmk review` reads and keeps: the predictions of an output folder (never changed) and OUT/reviewed.jsonl,
 * where each save of an image appends one whole line and the newest line of an image wins.
 */

export const REVIEWED_FILE = 'reviewed.jsonl';

/** An output folder that cannot be reviewed (missing, not lmk predict's, shards not merged): one line naming it. */
export class ReviewError extends Error {
  override name = 'ReviewError';
}

/** One image of predictions.jsonl, as the review uses it. */
export interface ReviewItem {
  /** Its line's position among the usable lines: how the page and the server name it. */
  index: number;
  /** The resume key (the line's `path`; journals older than keys: its `file`). */
  key: string;
  id: string;
  file: string;
  width: number;
  height: number;
  landmarks: Point[];
  scores: number[];
  meanScore: number;
  minScore: number;
  /** Landmarks (0-based) the shape check replaced. */
  replaced: number[];
}

/** One line of OUT/reviewed.jsonl: every landmark of the image as the reviewer left it. */
export interface ReviewedLine {
  id: string;
  file: string;
  path: string;
  /** All landmarks, in original pixels. */
  landmarks: Point[];
  /** The landmarks (0-based) that differ from the prediction. */
  moved: number[];
  /** The reviewer accepted the image as it stands (lines from dragging alone keep the work, not a verdict). */
  accepted: boolean;
  reviewedAt: string;
}

const isPoint = (p: unknown): p is Point => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v));

/**
 * Every whole line of a JSON Lines file with its number. A last line without its newline is a write torn by a
 * crash: skipped here, cut off by JsonlJournal.open before the next append.
 */
async function* wholeLines(path: string): AsyncGenerator<{ n: number; text: string }> {
  const size = statSync(path).size;
  if (size === 0) return;
  const handle = await fsp.open(path, 'r');
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  await handle.close();
  const torn = last[0] !== 0x0a;
  let pending: { n: number; text: string } | undefined;
  let n = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    if (pending) yield pending;
    pending = { n: ++n, text };
  }
  if (pending && !torn) yield pending;
}

/** Problems found while reading: the first few named, the rest counted. */
export class Problems {
  readonly messages: string[] = [];
  count = 0;
  add(message: string): void {
    this.count++;
    if (this.messages.length < 20) this.messages.push(message);
  }
}

function toItem(line: Record<string, unknown>, index: number): ReviewItem | string {
  if (typeof line.file !== 'string') return 'no image file (lmk pacs keeps its images on the server; review a lmk predict output)';
  const { landmarks, scores, width, height } = line;
  if (!Array.isArray(landmarks) || landmarks.length === 0 || !landmarks.every(isPoint)) return 'no landmarks [[x, y], ...]';
  if (!Array.isArray(scores) || scores.length !== landmarks.length || !scores.every((s) => typeof s === 'number')) return 'no score per landmark';
  if (typeof width !== 'number' || typeof height !== 'number' || width < 1 || height < 1) return 'no image width and height';
  const replaced = Array.isArray(line.replaced) ? line.replaced.filter((k): k is number => Number.isInteger(k)) : [];
  return {
    index,
    key: typeof line.path === 'string' ? line.path : line.file,
    id: typeof line.id === 'string' ? line.id : line.file,
    file: line.file,
    width,
    height,
    landmarks: landmarks as Point[],
    scores: scores as number[],
    meanScore: typeof line.meanScore === 'number' ? line.meanScore : scores.reduce((a: number, b: number) => a + b, 0) / scores.length,
    minScore: Math.min(...(scores as number[])),
    replaced,
  };
}

/** The predictions file of an output folder, or a ReviewError saying what the folder is instead. */
export function predictionsFileOf(outDir: string): string {
  if (!existsSync(outDir)) throw new ReviewError(`${outDir}: no such folder`);
  if (!statSync(outDir).isDirectory()) throw new ReviewError(`${outDir}: not a folder (give the --out folder of lmk predict)`);
  const file = join(outDir, PREDICTIONS_FILE);
  if (existsSync(file)) return file;
  if (existsSync(join(outDir, SHARDS_DIR))) throw new ReviewError(`${file}: not there, the shards in ${join(outDir, SHARDS_DIR)} are not merged yet: run lmk merge ${outDir} first`);
  if (existsSync(join(outDir, ERRORS_FILE))) throw new ReviewError(`${file}: not there (every input failed? see ${join(outDir, ERRORS_FILE)})`);
  throw new ReviewError(`${file}: not there (not an output folder of lmk predict)`);
}

/**
 * The predictions and the reviews of an output folder, in memory: 10,000 images take a few megabytes, and
 * the page asks for sorted pages of them. Saving appends to OUT/reviewed.jsonl (opened only by `openForWriting`).
 */
export class ReviewStore {
  readonly items: ReviewItem[] = [];
  readonly reviewed = new Map<number, ReviewedLine>();
  readonly problems = new Problems();
  private byKey = new Map<string, ReviewItem>();
  private journal?: JsonlJournal;

  private constructor(readonly outDir: string, readonly predictionsFile: string) {}

  get landmarkCount(): number {
    return this.items[0]?.landmarks.length ?? 0;
  }

  get reviewedFile(): string {
    return join(this.outDir, REVIEWED_FILE);
  }

  get acceptedCount(): number {
    let n = 0;
    for (const r of this.reviewed.values()) if (r.accepted) n++;
    return n;
  }

  /** Reads both journals; with `write`, reviewed.jsonl is opened for appending (which cuts a torn last line) before it is read. */
  static async load(outDir: string, options: { write?: boolean } = {}): Promise<ReviewStore> {
    const store = new ReviewStore(outDir, predictionsFileOf(outDir));
    await store.readPredictions();
    if (store.items.length === 0) throw new ReviewError(`${store.predictionsFile}: no predictions to review${store.problems.count ? ` (${store.problems.messages[0]})` : ''}`);
    if (options.write) store.journal = JsonlJournal.open(store.reviewedFile);
    if (existsSync(store.reviewedFile)) await store.readReviewed();
    return store;
  }

  private async readPredictions(): Promise<void> {
    const name = PREDICTIONS_FILE;
    for await (const { n, text } of wholeLines(this.predictionsFile)) {
      if (!text.trim()) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.problems.add(`${name}:${n}: not a JSON line, skipped`);
        continue;
      }
      const item = toItem(line, this.items.length);
      if (typeof item === 'string') this.problems.add(`${name}:${n}: ${item}, skipped`);
      else if (this.items.length > 0 && item.landmarks.length !== this.landmarkCount) this.problems.add(`${name}:${n}: ${item.landmarks.length} landmarks, the first line has ${this.landmarkCount}, skipped`);
      else if (this.byKey.has(item.key)) this.problems.add(`${name}:${n}: ${item.key} predicted twice, the first line is used`);
      else {
        this.items.push(item);
        this.byKey.set(item.key, item);
      }
    }
  }

  private async readReviewed(): Promise<void> {
    for await (const { n, text } of wholeLines(this.reviewedFile)) {
      if (!text.trim()) continue;
      let line: ReviewedLine;
      try {
        line = JSON.parse(text) as ReviewedLine;
      } catch {
        this.problems.add(`${REVIEWED_FILE}:${n}: not a JSON line, skipped`);
        continue;
      }
      const item = this.byKey.get(String(line.path));
      if (!item) this.problems.add(`${REVIEWED_FILE}:${n}: ${String(line.path)} is not in ${PREDICTIONS_FILE}, skipped`);
      else if (!Array.isArray(line.landmarks) || line.landmarks.length !== this.landmarkCount || !line.landmarks.every(isPoint)) {
        this.problems.add(`${REVIEWED_FILE}:${n}: not ${this.landmarkCount} landmarks [x, y], skipped`);
      } else this.reviewed.set(item.index, line);
    }
  }

  /** The landmarks as they stand: the newest review's, else the prediction's. */
  current(item: ReviewItem): Point[] {
    return this.reviewed.get(item.index)?.landmarks ?? item.landmarks;
  }

  /** Appends one whole line for the image and makes it the image's state. */
  save(item: ReviewItem, landmarks: Point[], accepted: boolean): ReviewedLine {
    if (!this.journal) throw new Error('ReviewStore.save: loaded without write');
    const rounded = landmarks.map(([x, y]): Point => [Number(x.toFixed(3)), Number(y.toFixed(3))]);
    // Moved: farther from the prediction than the journal's rounding could make it.
    const moved = rounded.flatMap(([x, y], k) => (Math.hypot(x - item.landmarks[k][0], y - item.landmarks[k][1]) > 1e-3 ? [k] : []));
    const line: ReviewedLine = { id: item.id, file: item.file, path: item.key, landmarks: rounded, moved, accepted, reviewedAt: new Date().toISOString() };
    this.journal.append(line);
    this.reviewed.set(item.index, line);
    return line;
  }

  close(): void {
    this.journal?.sync();
    this.journal?.close();
  }
}
