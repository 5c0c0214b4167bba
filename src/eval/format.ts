import type { BaselineSummary } from './baseline';
import type { AggregateSummary, EvaluationSummary, SdrTable } from './metrics';

/** A threshold as a JSON key, written like the number (2, 2.5). */
export function thresholdKey(t: number): string {
  return String(t);
}

/**
 * JSON objects with integer-like keys ("2", "3") are ordered by JavaScript before other keys ("2.5"),
 * so SDR objects are written by hand to keep thresholds ascending.
 */
function sdrJson(sdr: SdrTable, indent: string): string {
  const inner = sdr.map((s) => `${indent}  ${JSON.stringify(thresholdKey(s.threshold))}: ${JSON.stringify(s.percent)}`);
  return `{\n${inner.join(',\n')}\n${indent}}`;
}

/**
 * The `lmk eval --json` document: {n_images, mre: {value, unit, std}, sdr: {"2": pct, ...}, per_landmark: [...]},
 * and with a baseline `baseline: {n_train, mre: {value, unit, std}, sdr: {...}}`; `extra` adds keys at the end.
 */
export function summaryToJson(summary: EvaluationSummary, baseline?: BaselineSummary, extra: Record<string, unknown> = {}): string {
  const mreJson = (s: EvaluationSummary): string => JSON.stringify({ value: s.mre.value, unit: s.mre.unit, std: s.mre.std });
  const sdrInline = (sdr: SdrTable): string => sdrJson(sdr, '').replace(/\n\s*/g, ' ');
  const perLandmark = summary.per_landmark
    .map((l) => `    {"landmark": ${l.landmark}, "mre": ${JSON.stringify(l.mre)}, "std": ${JSON.stringify(l.std)}, "sdr": ${sdrInline(l.sdr)}}`)
    .join(',\n');
  const fields = [
    `  "protocol": ${JSON.stringify(summary.protocol)}`,
    `  "n_images": ${summary.n_images}`,
    `  "n_landmarks": ${summary.n_landmarks}`,
    `  "mre": ${mreJson(summary)}`,
    `  "sdr": ${sdrJson(summary.sdr, '  ')}`,
    `  "per_landmark": [\n${perLandmark}\n  ]`,
    ...(baseline ? [`  "baseline": {"n_train": ${baseline.n_train}, "mre": ${mreJson(baseline.summary)}, "sdr": ${sdrInline(baseline.summary.sdr)}}`] : []),
    ...Object.entries(extra).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`),
  ];
  return `{\n${fields.join(',\n')}\n}\n`;
}

/** Fixed-width text table: header row, rule, rows; first column left-aligned, others right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

const fixed = (v: number, digits = 2): string => v.toFixed(digits);

const MEAN_SHAPE = 'mean shape';

/** Readable summary: overall MRE and SDR (and the baseline's beside them), then one row per landmark. */
export function summaryToText(summary: EvaluationSummary, baseline?: BaselineSummary, landmarkCodes?: string[]): string {
  const unit = summary.mre.unit;
  const thresholds = summary.sdr.map((s) => s.threshold);
  const sdrHeader = thresholds.map((t) => `SDR ${t}${unit}`);
  const row = (label: string, s: EvaluationSummary): string[] =>
    [label, String(s.n_images), String(s.n_landmarks), fixed(s.mre.value), fixed(s.mre.std), ...s.sdr.map((x) => `${fixed(x.percent)}%`)];
  const overall = textTable(
    ['predictor', 'images', 'landmarks', `MRE (${unit})`, 'std', ...sdrHeader],
    baseline ? [row('model', summary), row(MEAN_SHAPE, baseline.summary)] : [row('model', summary)],
  );
  const note = baseline ? `(${MEAN_SHAPE}: every landmark at its mean position over the ${baseline.n_train} training items)\n` : '';
  const perLandmark = textTable(
    ['landmark', `MRE (${unit})`, 'std', ...sdrHeader],
    summary.per_landmark.map((l) => [landmarkCodes?.[l.landmark - 1] ? `${l.landmark} ${landmarkCodes[l.landmark - 1]}` : String(l.landmark), fixed(l.mre), fixed(l.std), ...l.sdr.map((s) => `${fixed(s.percent)}%`)]),
  );
  return `protocol: ${summary.protocol}\n\n${overall}${note}\nper landmark (model):\n${perLandmark}`;
}

/** Readable mean ± std over folds or repeats, with the mean shape's beside them when given. */
export function aggregateToText(agg: AggregateSummary, baseline?: AggregateSummary): string {
  const unit = agg.mre.unit;
  const row = (label: string, a: AggregateSummary): string[] =>
    [label, String(a.n_runs), `${fixed(a.mre.mean)} ± ${fixed(a.mre.std)}`, ...a.sdr.map((s) => `${fixed(s.mean)} ± ${fixed(s.std)}%`)];
  return textTable(
    ['predictor', 'runs', `MRE (${unit})`, ...agg.sdr.map((s) => `SDR ${s.threshold}${unit}`)],
    baseline ? [row('model', agg), row(MEAN_SHAPE, baseline)] : [row('model', agg)],
  );
}

/** One plain line when the model's MRE is above the mean shape's (users have trusted such models), else undefined. */
export function baselineWarning(modelMre: number, baselineMre: number, unit: string): string | undefined {
  if (modelMre <= baselineMre) return undefined;
  return `the model is worse than the mean shape: MRE ${fixed(modelMre)} ${unit} against ${fixed(baselineMre)} ${unit} with every landmark at its training mean`;
}
