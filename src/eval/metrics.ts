import type { PhysicalUnit } from '../data/types';

/** Per-image, per-landmark radial errors in one unit: `errors[image][landmark]`. */
export interface ErrorTable {
  ids: string[];
  errors: number[][];
  unit: PhysicalUnit;
}

/** How the spread of the MRE is reported. */
export type StdRule =
  /** Population std of the per-image mean radial errors (the physical protocol). */
  | 'over-images'
  /** Population std of every landmark error pooled (GU2Net's `np.std(distance_list)`). */
  | 'over-landmarks';

export interface LandmarkSummary {
  /** 1-based landmark number, as the data sets and papers count them. */
  landmark: number;
  mre: number;
  /** Population std of this landmark's error over images. */
  std: number;
  /** Percentage of images whose error for this landmark is within each threshold. */
  sdr: SdrTable;
}

/** Successful detection rate in percent per threshold, in ascending threshold order. */
export type SdrTable = Array<{ threshold: number; percent: number }>;

export interface EvaluationSummary {
  protocol: string;
  n_images: number;
  n_landmarks: number;
  mre: { value: number; unit: PhysicalUnit; std: number };
  sdr: SdrTable;
  per_landmark: LandmarkSummary[];
}

function mean(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Population standard deviation (numpy's default, ddof = 0). */
function populationStd(values: number[]): number {
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}

/** A radial error counts as detected when it is at most the threshold (GU2Net's `d <= th`). */
function sdr(values: number[], thresholds: number[]): SdrTable {
  return thresholds.map((threshold) => ({
    threshold,
    percent: (100 * values.filter((d) => d <= threshold).length) / values.length,
  }));
}

/** MRE, its spread, SDR and the per-landmark breakdown of an error table. */
export function summarizeErrors(table: ErrorTable, thresholds: number[], stdRule: StdRule, protocol: string): EvaluationSummary {
  const { errors } = table;
  if (errors.length === 0) throw new Error('no images to evaluate');
  const landmarkCount = errors[0].length;
  if (landmarkCount === 0 || errors.some((row) => row.length !== landmarkCount)) {
    throw new Error('every image must have the same, non-zero number of landmark errors');
  }
  const sorted = [...thresholds].sort((a, b) => a - b);
  const all = errors.flat();
  const perImage = errors.map(mean);
  const perLandmark: LandmarkSummary[] = [];
  for (let j = 0; j < landmarkCount; j++) {
    const column = errors.map((row) => row[j]);
    perLandmark.push({ landmark: j + 1, mre: mean(column), std: populationStd(column), sdr: sdr(column, sorted) });
  }
  return {
    protocol,
    n_images: errors.length,
    n_landmarks: landmarkCount,
    mre: { value: mean(all), unit: table.unit, std: stdRule === 'over-images' ? populationStd(perImage) : populationStd(all) },
    sdr: sdr(all, sorted),
    per_landmark: perLandmark,
  };
}

/** Mean and population std over several summaries (cross-validation folds). */
export interface AggregateSummary {
  n_runs: number;
  mre: { mean: number; std: number; unit: PhysicalUnit };
  sdr: Array<{ threshold: number; mean: number; std: number }>;
}

export function aggregateSummaries(summaries: EvaluationSummary[]): AggregateSummary {
  if (summaries.length === 0) throw new Error('no results to aggregate');
  const unit = summaries[0].mre.unit;
  const thresholds = summaries[0].sdr.map((s) => s.threshold);
  for (const s of summaries) {
    if (s.mre.unit !== unit || s.sdr.map((t) => t.threshold).join() !== thresholds.join()) {
      throw new Error('results to aggregate differ in unit or thresholds');
    }
  }
  const mres = summaries.map((s) => s.mre.value);
  return {
    n_runs: summaries.length,
    mre: { mean: mean(mres), std: populationStd(mres), unit },
    sdr: thresholds.map((threshold, k) => {
      const values = summaries.map((s) => s.sdr[k].percent);
      return { threshold, mean: mean(values), std: populationStd(values) };
    }),
  };
}
