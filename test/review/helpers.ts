import { appendFileSync, readFileSync } from 'fs';
import { request } from 'http';
import { join } from 'path';
import { LANDMARK_NAMES_KEY, serializeLandmarkNames } from '../../src/data/landmark-names';
import { generateSyntheticSet, SYNTHETIC_LANDMARK_NAMES, writeSyntheticCsvDataset } from '../../src/demo/synthetic';
import { exportModelFile, initStateDict, ModelSpec } from '../../src/models';
import type { PredictionLine } from '../../src/predict';
import type { ReviewedLine } from '../../src/review';
import { lmk } from '../util/lmk-cli';

/** A tiny trainable model (U-Net/VGG19 at 1/16 width, 7 landmarks, 64x64 grid): fast to predict with and to fine-tune. */
const TINY: ModelSpec = { arch: 'unet', encoder: 'vgg19', classes: 7, inChannels: 3, widthMultiplier: 0.0625 };
/** `lmk train`'s options for it. */
export const TINY_ARCH = ['--arch', 'unet', '--encoder', 'vgg19', '--width-multiplier', '0.0625', '--height', '64', '--width', '64'];
/** The names it stores: codes H1..H7. */
export const TINY_NAMES = SYNTHETIC_LANDMARK_NAMES.map((name, k) => ({ code: `H${k + 1}`, name }));

export const jsonLines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

export interface ReviewFixture {
  model: string;
  images: string;
  out: string;
  lines: PredictionLine[];
  /** The line added with a shape-check replacement (and the best scores): worst first all the same. */
  replaced: PredictionLine;
}

/**
 * `lmk predict` output over synthetic hands, made by the tiny model with random weights (so scores differ
 * from image to image), plus one line copied under another name with landmark 3 marked replaced.
 */
export async function makePredictions(dir: string, count = 8): Promise<ReviewFixture> {
  const model = join(dir, 'tiny.onnx');
  await exportModelFile(model, TINY, initStateDict(TINY, 3), { metadata: { 'lmk.grid_height': '64', 'lmk.grid_width': '64', [LANDMARK_NAMES_KEY]: serializeLandmarkNames(TINY_NAMES) } });
  const { imageDir } = await writeSyntheticCsvDataset(join(dir, 'hands'), generateSyntheticSet({ count, seed: 11 }));
  const out = join(dir, 'preds');
  const predicted = await lmk(['predict', '--model', model, '--input', imageDir, '--out', out, '--workers', '0', '--threads', '1', '--quiet']);
  if (predicted.status !== 0) throw new Error(predicted.stderr);
  const lines = jsonLines<PredictionLine>(join(out, 'predictions.jsonl'));
  const best = lines.reduce((a, b) => (a.meanScore > b.meanScore ? a : b));
  const replaced: PredictionLine = { ...best, id: 'replaced', path: `${best.path}#replaced`, scores: best.scores.map(() => 1), meanScore: 1, replaced: [3] };
  appendFileSync(join(out, 'predictions.jsonl'), `${JSON.stringify(replaced)}\n`);
  return { model, images: imageDir, out, lines: [...lines, replaced], replaced };
}

/** Worst first as the issue defines it: replacements first, then the lowest landmark score (ties by key). */
export function worstFirst(lines: PredictionLine[]): string[] {
  return [...lines].sort((a, b) => Number(Boolean(b.replaced?.length)) - Number(Boolean(a.replaced?.length))
    || Math.min(...a.scores) - Math.min(...b.scores) || (a.path < b.path ? -1 : 1)).map((l) => l.id);
}

/** The newest reviewed.jsonl line of an image. */
export function newestReview(out: string, path: string): ReviewedLine | undefined {
  return jsonLines<ReviewedLine>(join(out, 'reviewed.jsonl')).filter((l) => l.path === path).pop();
}

/** A request with its path sent exactly as written (fetch and browsers resolve `..` before sending). */
export function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
