/**
 * The shape check: fit the mean shape to predicted landmarks with a robust similarity and replace points
 * that are both far from the fitted shape and of low confidence by the fitted shape's points.
 */
import type { ShapeModel } from './model';
import { applySimilarity, fitSimilarity, Point, Similarity, similarityScale } from './similarity';

export interface ShapeCheckOptions {
  /** A point is far when its distance from the fitted shape exceeds this many of its (scaled) spreads. */
  farSpreads?: number;
  /** ... and is replaced only when its confidence is below this. */
  lowScore?: number;
  /**
   * Added in quadrature to every landmark's spread, as a fraction of the mean spread: landmarks that hardly
   * vary in the training set still carry the detector's own error.
   */
  spreadFloor?: number;
  /** The fit is trusted only when more than this fraction of all landmarks are near it. */
  minInlierFraction?: number;
}

export const DEFAULT_SHAPE_CHECK: Required<ShapeCheckOptions> = { farSpreads: 4, lowScore: 0.5, spreadFloor: 0.5, minInlierFraction: 0.5 };

export interface ShapeCheckResult {
  /** The points with the replaced ones set to the fitted shape's. */
  points: Point[];
  /** Indices (0-based) of the replaced landmarks, ascending. */
  replaced: number[];
  /** True when too few points agree with any fit (or too few are finite): nothing was replaced. */
  fitFailed: boolean;
  /** Per landmark, distance from the fitted shape in units of its scaled spread (NaN where the point is, or the fit failed). */
  residuals: number[];
}

/** Tukey's biweight at 4.685: zero weight beyond, so far points stop pulling the fit. */
function tukey(z: number): number {
  const u = z / 4.685;
  return u < 1 ? (1 - u * u) ** 2 : 0;
}

function residualsOf(t: Similarity, points: readonly (readonly [number, number])[], model: ShapeModel, sigma: readonly number[], out: number[]): void {
  const s = similarityScale(t);
  for (let k = 0; k < points.length; k++) {
    const [fx, fy] = applySimilarity(t, model.mean[k]);
    out[k] = Math.hypot(points[k][0] - fx, points[k][1] - fy) / (s * sigma[k]);
  }
}

/** The similarity that maps m1 to p1 and m2 to p2 exactly (complex division); undefined for coincident points. */
function similarityFromPair(m1: readonly number[], m2: readonly number[], p1: readonly number[], p2: readonly number[]): Similarity | undefined {
  const mx = m2[0] - m1[0];
  const my = m2[1] - m1[1];
  const px = p2[0] - p1[0];
  const py = p2[1] - p1[1];
  const d = mx * mx + my * my;
  if (!(d > 0) || (px === 0 && py === 0)) return undefined;
  const a = (px * mx + py * my) / d;
  const b = (py * mx - px * my) / d;
  return { a, b, tx: p1[0] - (a * m1[0] - b * m1[1]), ty: p1[1] - (b * m1[0] + a * m1[1]) };
}

/** The k-th smallest (0-based) of values[0..count), reordering them (quickselect). */
function select(values: Float64Array, count: number, k: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i++] = values[j];
        values[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k];
}

/**
 * Fits the model's mean shape to `points` (original pixels) and replaces the far, low-confidence ones.
 * The fit starts from the least-median-of-squares similarity over all landmark pairs (robust to almost half
 * the points being wrong), then reweights: Tukey's biweight of each residual times the point's confidence,
 * so that doubtful points pull the fit less. NaN points are replaced whenever the fit holds.
 */
export function checkShape(points: readonly (readonly [number, number])[], scores: readonly number[], model: ShapeModel, options: ShapeCheckOptions = {}): ShapeCheckResult {
  const o = { ...DEFAULT_SHAPE_CHECK, ...options };
  if (!(o.farSpreads > 0)) throw new Error(`shape check: farSpreads must be > 0, got ${o.farSpreads}`);
  if (!(o.lowScore >= 0)) throw new Error(`shape check: lowScore must be >= 0, got ${o.lowScore}`);
  if (!(o.spreadFloor >= 0)) throw new Error(`shape check: spreadFloor must be >= 0, got ${o.spreadFloor}`);
  // Below one half a minority of agreeing points could outvote the rest.
  if (!(o.minInlierFraction >= 0.5 && o.minInlierFraction < 1)) throw new Error(`shape check: minInlierFraction must be in [0.5, 1), got ${o.minInlierFraction}`);
  const n = model.mean.length;
  if (points.length !== n || scores.length !== n) throw new Error(`shape check: the shape model has ${n} landmarks, got ${points.length} points and ${scores.length} scores`);
  const copy = points.map(([x, y]): Point => [x, y]);
  const residuals = new Array<number>(n).fill(NaN);
  const failed = (): ShapeCheckResult => ({ points: copy, replaced: [], fitFailed: true, residuals: new Array<number>(n).fill(NaN) });
  const finite = copy.map(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const minInliers = Math.floor(o.minInlierFraction * n) + 1;
  if (finite.filter(Boolean).length < minInliers) return failed();

  const meanSpread = model.spread.reduce((a, b) => a + b, 0) / n;
  const floor = o.spreadFloor * meanSpread;
  const sigma = model.spread.map((s) => Math.sqrt(s * s + floor * floor) || 1);
  const confidence = scores.map((s) => 0.1 + 0.9 * Math.min(1, Math.max(0, Number.isFinite(s) ? s : 0)));

  // Least median of squares: of the similarities that map one pair of landmarks exactly, the one whose
  // minInliers-th smallest residual is least. Inlined with squared residuals: this loop is the check's cost.
  const finiteIndex = finite.flatMap((f, k) => (f ? [k] : []));
  const m = finiteIndex.length;
  const inv = sigma.map((s) => 1 / (s * s));
  const squared = new Float64Array(m);
  let best: Similarity | undefined;
  let bestCost = Infinity;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const t = similarityFromPair(model.mean[finiteIndex[i]], model.mean[finiteIndex[j]], copy[finiteIndex[i]], copy[finiteIndex[j]]);
      if (!t) continue;
      const scale2 = t.a * t.a + t.b * t.b;
      for (let q = 0; q < m; q++) {
        const k = finiteIndex[q];
        const [mx, my] = model.mean[k];
        const dx = copy[k][0] - (t.a * mx - t.b * my + t.tx);
        const dy = copy[k][1] - (t.b * mx + t.a * my + t.ty);
        squared[q] = ((dx * dx + dy * dy) * inv[k]) / scale2;
      }
      const cost = select(squared, m, minInliers - 1);
      if (cost < bestCost) {
        bestCost = cost;
        best = t;
      }
    }
  }
  if (!best) return failed();

  const weights = new Array<number>(n).fill(0);
  let fit: Similarity = best;
  for (let iter = 0; iter < 10; iter++) {
    residualsOf(fit, copy, model, sigma, residuals);
    for (let k = 0; k < n; k++) weights[k] = finite[k] ? tukey(residuals[k]) * confidence[k] : 0;
    const next = fitSimilarity(model.mean, copy, weights);
    if (!next) break;
    const change = Math.hypot(next.a - fit.a, next.b - fit.b) / similarityScale(fit);
    fit = next;
    if (change < 1e-6) break;
  }
  residualsOf(fit, copy, model, sigma, residuals);

  let inliers = 0;
  for (let k = 0; k < n; k++) if (finite[k] && residuals[k] <= o.farSpreads) inliers++;
  if (inliers < minInliers) return failed();

  const replaced: number[] = [];
  for (let k = 0; k < n; k++) {
    if (finite[k] && !(residuals[k] > o.farSpreads && !(scores[k] >= o.lowScore))) continue;
    copy[k] = applySimilarity(fit, model.mean[k]);
    replaced.push(k);
  }
  return { points: copy, replaced, fitFailed: false, residuals };
}
