/**
 * The training set's mean shape by generalised Procrustes analysis, and its JSON form for the model's
 * metadata (key `lmk.shape_model`).
 */
import { solveSpd, symmetricEigen } from './linalg';
import { applySimilarity, centroidAndRadius, fitSimilarity, Point } from './similarity';

export const SHAPE_MODEL_KEY = 'lmk.shape_model';

export interface ShapeModel {
  /** Mean shape in the normalised frame: centroid at the origin, RMS distance of the landmarks from it 1. */
  mean: Point[];
  /** Per landmark, RMS distance of the aligned training shapes from the mean, in the normalised frame's units. */
  spread: number[];
  /** Main modes of variation of the aligned shapes: unit vectors over (x0, y0, x1, y1, ...). */
  modes: number[][];
  /** Variance of the aligned shapes along each mode. */
  modeVariance: number[];
  /**
   * Per landmark, RMS distance of each training landmark from where the mean shape plus the modes, fitted
   * to that shape's other landmarks, puts it (normalised units): the spread of a point predicted from the rest.
   */
  residualSpread: number[];
  /** Training shapes it was built from. */
  shapes: number;
}

/** Share of the aligned shapes' variance the modes keep. */
const MODE_VARIANCE_KEPT = 0.9;

/**
 * Mode coefficients that best explain the deviations `dev` (2n, from the mean) of the landmarks with
 * weight > 0: weighted least squares with each coefficient's prior variance as a ridge (noise variance per
 * coordinate `noise` over weight), so that a few points cannot push the shape far from the training shapes.
 */
export function fitModes(model: Pick<ShapeModel, 'modes' | 'modeVariance'>, dev: ArrayLike<number>, weights: ArrayLike<number>, noise: ArrayLike<number>): Float64Array {
  const k = model.modes.length;
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  for (let i = 0; i < k; i++) a[i * k + i] = 1 / model.modeVariance[i];
  for (let l = 0; l < weights.length; l++) {
    const w = weights[l] / noise[l];
    if (!(w > 0)) continue;
    for (let c = 2 * l; c < 2 * l + 2; c++) {
      for (let i = 0; i < k; i++) {
        const wi = w * model.modes[i][c];
        b[i] += wi * dev[c];
        for (let j = 0; j <= i; j++) a[i * k + j] += wi * model.modes[j][c];
      }
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) a[j * k + i] = a[i * k + j];
  return k ? solveSpd(a, b, k) : b;
}

/** Centred and scaled to RMS radius 1. */
function normalise(shape: readonly (readonly [number, number])[]): Point[] {
  const { cx, cy, radius: r } = centroidAndRadius(shape);
  return shape.map(([x, y]): Point => [(x - cx) / r, (y - cy) / r]);
}

/** A similarity fits two points exactly, so a shape check needs a third; and a mean needs two shapes. */
export const MIN_SHAPE_LANDMARKS = 3;
export const MIN_SHAPE_ITEMS = 2;

/**
 * Generalised Procrustes alignment of the items' landmarks (original pixels; sizes may differ): each shape
 * is mapped onto the mean by the least-squares similarity, the mean is re-estimated and renormalised,
 * until it stops moving. The spread is what is left after that alignment.
 */
export function buildShapeModel(items: readonly { landmarks: readonly (readonly [number, number])[] }[]): ShapeModel {
  if (items.length < MIN_SHAPE_ITEMS) throw new Error(`shape model: needs at least ${MIN_SHAPE_ITEMS} annotated items, got ${items.length}`);
  const n = items[0].landmarks.length;
  if (n < MIN_SHAPE_LANDMARKS) throw new Error(`shape model: needs at least ${MIN_SHAPE_LANDMARKS} landmarks, got ${n}`);
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

  // Modes: principal components of the aligned deviations.
  const d = 2 * n;
  const devs = aligned.map((a) => a.flatMap(([x, y], k) => [x - mean[k][0], y - mean[k][1]]));
  const cov = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => devs.reduce((acc, v) => acc + v[i] * v[j], 0) / devs.length));
  const eig = symmetricEigen(cov);
  const total = eig.values.reduce((a, v) => a + Math.max(v, 0), 0);
  // Enough modes for MODE_VARIANCE_KEPT, but fewer than a bare majority of points (n / 2 + 1, 4 coordinates to
  // the similarity) can determine, and fewer than the shapes.
  const maxModes = Math.max(0, Math.min(n - 2, shapes.length - 1));
  let kept = 0;
  let cumulative = 0;
  // The frame has RMS radius 1, so 1e-12 is variation at a millionth of the shape's size: none.
  while (kept < maxModes && cumulative < MODE_VARIANCE_KEPT * total && eig.values[kept] > 1e-12) cumulative += eig.values[kept++];
  const modes = eig.vectors.slice(0, kept);
  const modeVariance = eig.values.slice(0, kept);
  const noise = new Array<number>(n).fill(Math.max((total - cumulative) / d, 1e-12 * total, 1e-300));

  // Leave one landmark out: fit the modes to the others, measure how far the left-out one is from its prediction.
  const sumSquares = new Array<number>(n).fill(0);
  const weights = new Array<number>(n).fill(1);
  for (const dev of devs) {
    for (let j = 0; j < n; j++) {
      weights[j] = 0;
      const coef = fitModes({ modes, modeVariance }, dev, weights, noise);
      weights[j] = 1;
      let px = 0;
      let py = 0;
      for (let i = 0; i < kept; i++) {
        px += coef[i] * modes[i][2 * j];
        py += coef[i] * modes[i][2 * j + 1];
      }
      sumSquares[j] += (dev[2 * j] - px) ** 2 + (dev[2 * j + 1] - py) ** 2;
    }
  }
  const residualSpread = sumSquares.map((s) => Math.sqrt(s / devs.length));
  return { mean, spread, modes, modeVariance, residualSpread, shapes: shapes.length };
}

const round = (v: number): number => Number(v.toPrecision(6));

/** Compact one-line JSON for the `lmk.shape_model` metadata entry. */
export function serializeShapeModel(model: ShapeModel): string {
  return JSON.stringify({
    version: 1,
    shapes: model.shapes,
    mean: model.mean.map(([x, y]) => [round(x), round(y)]),
    spread: model.spread.map(round),
    residualSpread: model.residualSpread.map(round),
    modeVariance: model.modeVariance.map(round),
    modes: model.modes.map((m) => m.map(round)),
  });
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
  const n = mean.length;
  const perLandmark = (key: 'spread' | 'residualSpread'): number[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length !== n) fail(`${key} must have one value per landmark (${n})`);
    (v as unknown[]).forEach((s, k) => {
      if (typeof s !== 'number' || !(s >= 0) || !Number.isFinite(s)) fail(`${key}[${k}] must be a finite number >= 0, got ${JSON.stringify(s)}`);
    });
    return v as number[];
  };
  const spread = perLandmark('spread');
  const residualSpread = perLandmark('residualSpread');
  if (!Array.isArray(o.modes) || !Array.isArray(o.modeVariance) || o.modes.length !== o.modeVariance.length) fail('modes and modeVariance must be arrays of the same length');
  const modes = o.modes as unknown[];
  modes.forEach((m, i) => {
    if (!Array.isArray(m) || m.length !== 2 * n || !m.every((v) => typeof v === 'number' && Number.isFinite(v))) fail(`modes[${i}] must be ${2 * n} finite numbers`);
  });
  (o.modeVariance as unknown[]).forEach((v, i) => {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`modeVariance[${i}] must be a finite number > 0, got ${JSON.stringify(v)}`);
  });
  return { mean: mean as Point[], spread, modes: modes as number[][], modeVariance: o.modeVariance as number[], residualSpread, shapes: o.shapes as number };
}
