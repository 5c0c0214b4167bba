/**
 * The shape check: fit the mean shape to predicted landmarks with a robust similarity and replace points
 * that are far from the fitted shape and of low confidence, or so far that no confidence makes them
 * plausible, by the fitted shape's points.
 */
import { fitModes, ShapeModel } from './model';
import { applySimilarity, fitSimilarity, Point, Similarity, similarityScale } from './similarity';

export interface ShapeCheckOptions {
  /** A point is far when its distance from the fitted shape exceeds this many of its (scaled) spreads. */
  farSpreads?: number;
  /** ... and is replaced only when its confidence is below this. */
  lowScore?: number;
  /**
   * A point farther than this many spreads is replaced whatever its confidence: a detector can be sure of
   * the wrong structure (a second, similar edge), and no anatomy puts a landmark there.
   */
  impossibleSpreads?: number;
  /**
   * Added in quadrature to every landmark's spread, as a fraction of the mean spread: landmarks that hardly
   * vary in the training set still carry the detector's own error.
   */
  spreadFloor?: number;
  /** The fit is trusted only when more than this fraction of all landmarks are near it. */
  minInlierFraction?: number;
}

export const DEFAULT_SHAPE_CHECK: Required<ShapeCheckOptions> = { farSpreads: 4, lowScore: 0.5, impossibleSpreads: 16, spreadFloor: 0.5, minInlierFraction: 0.5 };

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

/** Landmark pairs tried for the robust start. */
const MAX_PAIRS = 200;

/** Tukey's biweight at 4.685: zero weight beyond, so far points stop pulling the fit. */
function tukey(z: number): number {
  const u = z / 4.685;
  return u < 1 ? (1 - u * u) ** 2 : 0;
}

function residualsOf(t: Similarity, points: readonly (readonly [number, number])[], shape: readonly Point[], sigma: readonly number[], out: number[]): void {
  const s = similarityScale(t);
  for (let k = 0; k < points.length; k++) {
    const [fx, fy] = applySimilarity(t, shape[k]);
    out[k] = Math.hypot(points[k][0] - fx, points[k][1] - fy) / (s * sigma[k]);
  }
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
  if (!(o.impossibleSpreads >= o.farSpreads)) throw new Error(`shape check: impossibleSpreads must be >= farSpreads (${o.farSpreads}), got ${o.impossibleSpreads}`);
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

  // The floor is a share of the shape's typical variation (similarity spread), the same for both stages.
  const floor = (o.spreadFloor * model.spread.reduce((a, b) => a + b, 0)) / n;
  const withFloor = (spread: number[]): number[] => spread.map((s) => Math.sqrt(s * s + floor * floor) || 1);
  const sigma = withFloor(model.spread);
  const confidence = scores.map((s) => 0.1 + 0.9 * Math.min(1, Math.max(0, Number.isFinite(s) ? s : 0)));

  // Least median of squares: of the similarities that map one pair of landmarks exactly, the one whose
  // minInliers-th smallest residual is least. Inlined with squared residuals: this loop is the check's cost.
  // Flat arrays of the finite points only: array destructuring in this loop cost several times the arithmetic.
  const finiteIndex = finite.flatMap((f, k) => (f ? [k] : []));
  const m = finiteIndex.length;
  const mean = new Float64Array(2 * m);
  const pts = new Float64Array(2 * m);
  const inv = new Float64Array(m);
  finiteIndex.forEach((k, q) => {
    mean[2 * q] = model.mean[k][0];
    mean[2 * q + 1] = model.mean[k][1];
    pts[2 * q] = copy[k][0];
    pts[2 * q + 1] = copy[k][1];
    inv[q] = 1 / (sigma[k] * sigma[k]);
  });
  const squared = new Float64Array(m);
  let best: Similarity | undefined;
  let bestCost = Infinity;
  // An even share of the pairs where there are many (37 landmarks: 666): with a minority of outliers most
  // pairs are clean, and the time stays well under a millisecond.
  const stride = Math.ceil((m * (m - 1)) / 2 / MAX_PAIRS);
  let counter = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      if (counter++ % stride) continue;
      // The similarity mapping mean i, j onto points i, j (complex division).
      const mx = mean[2 * j] - mean[2 * i];
      const my = mean[2 * j + 1] - mean[2 * i + 1];
      const px = pts[2 * j] - pts[2 * i];
      const py = pts[2 * j + 1] - pts[2 * i + 1];
      const d = mx * mx + my * my;
      if (!(d > 0) || (px === 0 && py === 0)) continue;
      const a = (px * mx + py * my) / d;
      const b = (py * mx - px * my) / d;
      const tx = pts[2 * i] - (a * mean[2 * i] - b * mean[2 * i + 1]);
      const ty = pts[2 * i + 1] - (b * mean[2 * i] + a * mean[2 * i + 1]);
      const scale2 = a * a + b * b;
      for (let q = 0; q < m; q++) {
        const dx = pts[2 * q] - (a * mean[2 * q] - b * mean[2 * q + 1] + tx);
        const dy = pts[2 * q + 1] - (b * mean[2 * q] + a * mean[2 * q + 1] + ty);
        squared[q] = ((dx * dx + dy * dy) * inv[q]) / scale2;
      }
      const cost = select(squared, m, minInliers - 1);
      if (cost < bestCost) {
        bestCost = cost;
        best = { a, b, tx, ty };
      }
    }
  }
  if (!best) return failed();

  // Stage 1: the mean shape alone, reweighted from the LMedS start.
  const weights = new Array<number>(n).fill(0);
  let fit: Similarity = best;
  for (let iter = 0; iter < 10; iter++) {
    residualsOf(fit, copy, model.mean, sigma, residuals);
    for (let k = 0; k < n; k++) weights[k] = finite[k] ? tukey(residuals[k]) * confidence[k] : 0;
    const next = fitSimilarity(model.mean, copy, weights);
    if (!next) break;
    const change = Math.hypot(next.a - fit.a, next.b - fit.b) / similarityScale(fit);
    fit = next;
    if (change < 1e-6) break;
  }

  // Stage 2: mean shape plus modes, so that each point is judged against where the others put it.
  const residualSigma = withFloor(model.residualSpread);
  const noise = residualSigma.map((s) => (s * s) / 2);
  const dev = new Float64Array(2 * n);
  let shape: Point[] = model.mean;
  const fitShape = (): boolean => {
    const s2 = fit.a * fit.a + fit.b * fit.b;
    for (let k = 0; k < n; k++) {
      if (!finite[k]) continue;
      const x = copy[k][0] - fit.tx;
      const y = copy[k][1] - fit.ty;
      dev[2 * k] = (fit.a * x + fit.b * y) / s2 - model.mean[k][0];
      dev[2 * k + 1] = (fit.a * y - fit.b * x) / s2 - model.mean[k][1];
    }
    const coef = fitModes(model, dev, weights, noise);
    shape = model.mean.map(([mx, my], k): Point => {
      let x = mx;
      let y = my;
      for (let i = 0; i < coef.length; i++) {
        x += coef[i] * model.modes[i][2 * k];
        y += coef[i] * model.modes[i][2 * k + 1];
      }
      return [x, y];
    });
    const next = fitSimilarity(shape, copy, weights);
    if (!next) return false;
    fit = next;
    residualsOf(fit, copy, shape, residualSigma, residuals);
    return true;
  };
  for (let iter = 0; iter < 10; iter++) {
    const before = fit;
    if (!fitShape()) return failed();
    for (let k = 0; k < n; k++) weights[k] = finite[k] ? tukey(residuals[k]) * confidence[k] : 0;
    if (Math.hypot(fit.a - before.a, fit.b - before.b) < 1e-6 * similarityScale(fit)) break;
  }

  let inliers = 0;
  for (let k = 0; k < n; k++) if (finite[k] && residuals[k] <= o.farSpreads) inliers++;
  if (inliers < minInliers) return failed();

  const replaced: number[] = [];
  for (let k = 0; k < n; k++) {
    if (!finite[k] || residuals[k] > o.impossibleSpreads || (residuals[k] > o.farSpreads && !(scores[k] >= o.lowScore))) replaced.push(k);
  }
  if (replaced.length) {
    // Where the other points put the replaced ones: one more fit without them.
    const judged = residuals.slice();
    for (const k of replaced) weights[k] = 0;
    if (!fitShape()) return failed();
    for (let k = 0; k < n; k++) residuals[k] = judged[k];
    for (const k of replaced) copy[k] = applySimilarity(fit, shape[k]);
  }
  return { points: copy, replaced, fitFailed: false, residuals };
}
