/**
 * The training set's mean shape by generalised Procrustes analysis, and its JSON form for the model's
 * metadata (key `lmk.shape_model`).
 */
import { applySimilarity, fitSimilarity, Point } from './similarity';

export const SHAPE_MODEL_KEY = 'lmk.shape_model';

export interface ShapeModel {
  /** Mean shape in the normalised frame: centroid at the origin, RMS distance of the landmarks from it 1. */
  mean: Point[];
  /** Per landmark, RMS distance of the aligned training shapes from the mean, in the normalised frame's units. */
  spread: number[];
  /** Training shapes it was built from. */
  shapes: number;
}

/** Centred and scaled to RMS radius 1. */
function normalise(shape: readonly (readonly [number, number])[]): Point[] {
  const n = shape.length;
  let cx = 0;
  let cy = 0;
  for (const [x, y] of shape) {
    cx += x / n;
    cy += y / n;
  }
  let ss = 0;
  for (const [x, y] of shape) ss += (x - cx) ** 2 + (y - cy) ** 2;
  const r = Math.sqrt(ss / n);
  return shape.map(([x, y]): Point => [(x - cx) / r, (y - cy) / r]);
}

/**
 * Generalised Procrustes alignment of the items' landmarks (original pixels; sizes may differ): each shape
 * is mapped onto the mean by the least-squares similarity, the mean is re-estimated and renormalised,
 * until it stops moving. The spread is what is left after that alignment.
 */
export function buildShapeModel(items: readonly { landmarks: readonly (readonly [number, number])[] }[]): ShapeModel {
  if (items.length < 2) throw new Error(`shape model: needs at least 2 annotated items, got ${items.length}`);
  const n = items[0].landmarks.length;
  if (n < 3) throw new Error(`shape model: needs at least 3 landmarks, got ${n}`);
  items.forEach((item, i) => {
    if (item.landmarks.length !== n) throw new Error(`shape model: item ${i} has ${item.landmarks.length} landmarks, item 0 has ${n}`);
    const bad = item.landmarks.findIndex(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y));
    if (bad >= 0) throw new Error(`shape model: item ${i} landmark ${bad} is not a finite point`);
  });
  const shapes = items.map((item) => item.landmarks);
  let mean = normalise(shapes[0]);
  let aligned: Point[][] = [];
  for (let iter = 0; iter < 100; iter++) {
    aligned = shapes.map((s, i) => {
      const t = fitSimilarity(s, mean);
      if (!t) throw new Error(`shape model: item ${i} has all its landmarks at one point`);
      return s.map((p) => applySimilarity(t, p));
    });
    const avg = mean.map((_, k): Point => {
      let x = 0;
      let y = 0;
      for (const a of aligned) {
        x += a[k][0];
        y += a[k][1];
      }
      return [x / aligned.length, y / aligned.length];
    });
    const next = normalise(avg);
    const moved = Math.max(...next.map(([x, y], k) => Math.hypot(x - mean[k][0], y - mean[k][1])));
    mean = next;
    if (moved < 1e-9) break;
  }
  // Residuals against the final mean (the last alignment was to the mean before renormalising).
  aligned = shapes.map((s) => s.map((p) => applySimilarity(fitSimilarity(s, mean)!, p)));
  const spread = mean.map(([mx, my], k) => Math.sqrt(aligned.reduce((acc, a) => acc + (a[k][0] - mx) ** 2 + (a[k][1] - my) ** 2, 0) / aligned.length));
  return { mean, spread, shapes: shapes.length };
}

const round = (v: number): number => Number(v.toPrecision(6));

/** Compact one-line JSON for the `lmk.shape_model` metadata entry. */
export function serializeShapeModel(model: ShapeModel): string {
  return JSON.stringify({ version: 1, shapes: model.shapes, mean: model.mean.map(([x, y]) => [round(x), round(y)]), spread: model.spread.map(round) });
}

/** Parses and checks a `lmk.shape_model` entry; `source` names where it came from in the one-line error. */
export function parseShapeModel(text: string, source = SHAPE_MODEL_KEY): ShapeModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${source}: not valid JSON`);
  }
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('expected a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) fail(`unsupported version ${JSON.stringify(o.version)} (this lmk reads version 1)`);
  if (!Number.isInteger(o.shapes) || (o.shapes as number) < 2) fail(`shapes must be an integer >= 2, got ${JSON.stringify(o.shapes)}`);
  if (!Array.isArray(o.mean) || o.mean.length < 3) fail('mean must be an array of at least 3 [x, y] points');
  const mean = o.mean as unknown[];
  mean.forEach((p, k) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) fail(`mean[${k}] is not an [x, y] pair of finite numbers`);
  });
  if (!Array.isArray(o.spread) || o.spread.length !== mean.length) fail(`spread must have one value per landmark (${mean.length})`);
  const spread = o.spread as unknown[];
  spread.forEach((s, k) => {
    if (typeof s !== 'number' || !(s >= 0) || !Number.isFinite(s)) fail(`spread[${k}] must be a finite number >= 0, got ${JSON.stringify(s)}`);
  });
  return { mean: mean as Point[], spread: spread as number[], shapes: o.shapes as number };
}
