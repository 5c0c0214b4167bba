import { cephalometricMeasurements, MEASUREMENT_NAMES, MeasurementName, MeasurementUnit } from '../cephalometry';
import type { LandmarkItem } from '../data/types';
import { textTable } from './format';
import type { Predictions } from './protocols';

/**
 * The ISBI 2015 challenge's second task: per measurement, the mean absolute difference between the
 * measurement made from the predicted landmarks and from the ground truth's, and the classification
 * success rate (the share of images that both put in the same class; Wang et al. 2016, Table 5).
 */
export interface MeasurementRow {
  name: MeasurementName;
  unit: MeasurementUnit;
  n_images: number;
  /** Mean |predicted - ground truth| in `unit`. */
  mad: number;
  /** Percent of images whose class is the ground truth's (null where no class can be given: MW without a spacing). */
  success: number | null;
}

export function evaluateMeasurements(items: Pick<LandmarkItem, 'id' | 'landmarks' | 'mmPerPixel'>[], predictions: Predictions): MeasurementRow[] {
  const rows = MEASUREMENT_NAMES.map((name) => ({ name, unit: 'deg' as MeasurementUnit, n: 0, abs: 0, same: 0, classed: 0 }));
  for (const item of items) {
    const predicted = predictions.get(item.id);
    if (!predicted) continue;
    const truth = cephalometricMeasurements(item.landmarks, item.mmPerPixel);
    const made = cephalometricMeasurements(predicted, item.mmPerPixel);
    MEASUREMENT_NAMES.forEach((name, k) => {
      const row = rows[k];
      row.unit = truth[name].unit;
      row.n++;
      row.abs += Math.abs(made[name].value - truth[name].value);
      if (truth[name].class !== null) {
        row.classed++;
        if (truth[name].class === made[name].class) row.same++;
      }
    });
  }
  return rows.map((r) => ({ name: r.name, unit: r.unit, n_images: r.n, mad: r.n ? r.abs / r.n : NaN, success: r.classed ? (100 * r.same) / r.classed : null }));
}

/** The task-2 table, with the mean shape's figures beside the model's where given. */
export function measurementsToText(rows: MeasurementRow[], baseline?: MeasurementRow[]): string {
  const unitLabel = (u: MeasurementUnit) => (u === 'ratio' ? '' : ` ${u === 'deg' ? 'deg' : u}`);
  const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}%`);
  const header = ['measurement', 'mean |diff|', 'class success', ...(baseline ? ['mean shape |diff|', 'mean shape success'] : [])];
  const table = textTable(header, rows.map((r, k) => [
    r.name, `${r.mad.toFixed(r.unit === 'ratio' ? 4 : 2)}${unitLabel(r.unit)}`, pct(r.success),
    ...(baseline ? [`${baseline[k].mad.toFixed(r.unit === 'ratio' ? 4 : 2)}${unitLabel(r.unit)}`, pct(baseline[k].success)] : []),
  ]));
  return `cephalometric measurements (ISBI 2015 task 2, against the ground truth's, ${rows[0]?.n_images ?? 0} images):\n${table}`;
}
