import type { Dataset, FormatName, LandmarkItem, PhysicalUnit, Point } from '../data/types';
import { ErrorTable, EvaluationSummary, StdRule, summarizeErrors } from './metrics';

export type ProtocolName = 'physical' | 'gu2net';
export const PROTOCOLS: ProtocolName[] = ['physical', 'gu2net'];

/** What evaluation needs to know of a data set. */
export type EvaluationDataset = Pick<Dataset, 'format' | 'grid' | 'unit' | 'landmarkCount' | 'items'>;

/** Predicted landmarks in original image pixels, by item id. */
export type Predictions = Map<string, Point[]>;

/** Distance between the wrist landmarks 1 and 5 that the hand protocol calls 50 mm (Payer et al.; GU2Net). */
export const WRIST_WIDTH_MM = 50;
/** GU2Net's head factor: 0.1 mm per original pixel x 2400 / 512 rows (evaluation.py, CEPH_PHYSICAL_FACTOR). */
export const GU2NET_HEAD_MM_PER_GRID_PIXEL = 0.46875;

/** GU2Net's resized grids (config.yaml, `size` as width x height), here as h x w. */
const GU2NET_GRIDS: Partial<Record<FormatName, { height: number; width: number }>> = {
  isbi2015: { height: 512, width: 416 },
  'hand-dha': { height: 512, width: 368 },
  'chest-shenzhen': { height: 512, width: 512 },
};

/** Thresholds of the published tables: head mm, hand mm, chest px of the 512x512 grid. */
export function defaultThresholds(format: FormatName, unit: PhysicalUnit): number[] {
  if (format === 'isbi2015') return [2, 2.5, 3, 4];
  if (format === 'hand-dha') return [2, 4, 10];
  if (format === 'chest-shenzhen') return [3, 6, 9];
  return unit === 'mm' ? [2, 2.5, 3, 4] : [3, 6, 9];
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Python 3's round(): halves go to the even neighbour (GU2Net rounds grid positions with it). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const frac = v - f;
  if (frac < 0.5) return f;
  if (frac > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function checkShape(item: LandmarkItem, points: Point[], landmarkCount: number): void {
  if (points.length !== landmarkCount) {
    throw new Error(`prediction for '${item.id}' has ${points.length} landmarks, the data set has ${landmarkCount}`);
  }
}

/**
 * Physical protocol: errors between sub-pixel positions in the original image.
 * Head (and csv with spacing): mm = px x item.mmPerPixel. Hand: mm = px x 50 / |p1 - p5| of the ground truth.
 * Chest: pixels of the model grid (original offsets scaled by grid / original size per axis).
 * Csv without spacing: original pixels.
 */
function physicalErrors(dataset: EvaluationDataset, item: LandmarkItem, predicted: Point[]): number[] {
  const gt = item.landmarks;
  if (dataset.format === 'chest-shenzhen') {
    const sx = dataset.grid.width / item.width;
    const sy = dataset.grid.height / item.height;
    return gt.map((g, j) => Math.hypot((predicted[j][0] - g[0]) * sx, (predicted[j][1] - g[1]) * sy));
  }
  const pixelErrors = gt.map((g, j) => distance(predicted[j], g));
  if (dataset.unit === 'px') return pixelErrors;
  let mmPerPixel: number | undefined;
  if (dataset.format === 'hand-dha') {
    const wrist = distance(gt[0], gt[4]);
    if (!(wrist > 0)) throw new Error(`'${item.id}': landmarks 1 and 5 coincide, so the 50 mm wrist width gives no scale`);
    mmPerPixel = WRIST_WIDTH_MM / wrist;
  } else {
    mmPerPixel = item.mmPerPixel;
  }
  if (mmPerPixel === undefined || !(mmPerPixel > 0)) {
    throw new Error(`'${item.id}' (${item.imagePath}) has no pixel spacing, so errors cannot be given in mm`);
  }
  const scale = mmPerPixel;
  return pixelErrors.map((d) => d * scale);
}

/**
 * GU2Net protocol (Zhu et al. 2021, github.com/MIRACLE-Center/YOLO_Universal_Anatomical_Landmark_Detection,
 * universal_landmark_detection/evaluation.py and model/datasets/*.py), followed step by step:
 * - ground truth on the resized grid: round(p * grid / original) per axis with Python's round;
 * - predictions: the argmax of each heatmap on that grid. Our predictions come in original pixels,
 *   so they are mapped to the grid with the same rule, which gives the heatmap argmax when the
 *   prediction is the peak of a heatmap on that grid;
 * - head: grid distance x 0.46875 mm; hand: grid distance x 50 / |g1 - g5| on the grid; chest: grid pixels.
 */
function gu2netErrors(dataset: EvaluationDataset, item: LandmarkItem, predicted: Point[]): number[] {
  const grid = GU2NET_GRIDS[dataset.format];
  if (!grid) throw new Error(`the gu2net protocol is defined for isbi2015, hand-dha and chest-shenzhen, not '${dataset.format}'`);
  const toGrid = (p: Point): Point => [roundHalfEven((p[0] * grid.width) / item.width), roundHalfEven((p[1] * grid.height) / item.height)];
  const gt = item.landmarks.map(toGrid);
  const pred = predicted.map(toGrid);
  let factor = 1;
  if (dataset.format === 'isbi2015') factor = GU2NET_HEAD_MM_PER_GRID_PIXEL;
  if (dataset.format === 'hand-dha') {
    const wrist = distance(gt[0], gt[4]);
    if (!(wrist > 0)) throw new Error(`'${item.id}': landmarks 1 and 5 fall on one grid pixel, so the 50 mm wrist width gives no scale`);
    factor = WRIST_WIDTH_MM / wrist;
  }
  return gt.map((g, j) => distance(pred[j], g) * factor);
}

/** The unit errors come out in under a protocol. */
export function protocolUnit(dataset: Pick<Dataset, 'format' | 'unit'>, protocol: ProtocolName): PhysicalUnit {
  if (protocol === 'gu2net') return dataset.format === 'chest-shenzhen' ? 'px' : 'mm';
  return dataset.format === 'chest-shenzhen' ? 'px' : dataset.unit;
}

/** Radial errors of every item of `dataset` that must have a prediction. */
export function errorTable(dataset: EvaluationDataset, predictions: Predictions, protocol: ProtocolName): ErrorTable {
  if (dataset.items.length === 0) throw new Error('the data set has no items to evaluate');
  const missing = dataset.items.filter((item) => !predictions.has(item.id));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).map((m) => `'${m.id}'`).join(', ');
    throw new Error(`no prediction for ${missing.length} of ${dataset.items.length} images (${shown}${missing.length > 5 ? ', ...' : ''})`);
  }
  const errors = dataset.items.map((item) => {
    const predicted = predictions.get(item.id) as Point[];
    checkShape(item, predicted, dataset.landmarkCount);
    return protocol === 'gu2net' ? gu2netErrors(dataset, item, predicted) : physicalErrors(dataset, item, predicted);
  });
  return { ids: dataset.items.map((i) => i.id), errors, unit: protocolUnit(dataset, protocol) };
}

export interface EvaluateOptions {
  protocol?: ProtocolName;
  /** Default: the published thresholds for the format (`defaultThresholds`). */
  thresholds?: number[];
}

/**
 * MRE/SDR of predictions against a data set's ground truth. The physical protocol reports the std of
 * per-image MREs; the gu2net protocol the std of all landmark errors pooled, as GU2Net's `analysis()` does.
 */
export function evaluatePredictions(dataset: EvaluationDataset, predictions: Predictions, options: EvaluateOptions = {}): EvaluationSummary {
  const protocol = options.protocol ?? 'physical';
  const unit = protocolUnit(dataset, protocol);
  const thresholds = options.thresholds ?? defaultThresholds(dataset.format, unit);
  if (thresholds.length === 0 || thresholds.some((t) => !(t > 0) || !Number.isFinite(t))) {
    throw new Error(`thresholds must be positive numbers, got [${thresholds.join(', ')}]`);
  }
  const stdRule: StdRule = protocol === 'gu2net' ? 'over-landmarks' : 'over-images';
  return summarizeErrors(errorTable(dataset, predictions, protocol), thresholds, stdRule, protocol);
}
