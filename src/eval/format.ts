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

/** The `lmk eval --json` document: {n_images, mre: {value, unit, std}, sdr: {"2": pct, ...}, per_landmark: [...]}. */
export function summaryToJson(summary: EvaluationSummary): string {
  const perLandmark = summary.per_landmark
    .map((l) => `    {"landmark": ${l.landmark}, "mre": ${JSON.stringify(l.mre)}, "std": ${JSON.stringify(l.std)}, "sdr": ${sdrJson(l.sdr, '    ').replace(/\n\s*/g, ' ')}}`)
    .join(',\n');
  return [
    '{',
    `  "protocol": ${JSON.stringify(summary.protocol)},`,
    `  "n_images": ${summary.n_images},`,
    `  "n_landmarks": ${summary.n_landmarks},`,
    `  "mre": ${JSON.stringify({ value: summary.mre.value, unit: summary.mre.unit, std: summary.mre.std })},`,
    `  "sdr": ${sdrJson(summary.sdr, '  ')},`,
    `  "per_landmark": [\n${perLandmark}\n  ]`,
    '}',
  ].join('\n') + '\n';
}

/** Fixed-width text table: header row, rule, rows; first column left-aligned, others right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

const fixed = (v: number, digits = 2): string => v.toFixed(digits);

/** Readable summary: overall MRE and SDR, then one row per landmark. */
export function summaryToText(summary: EvaluationSummary): string {
  const unit = summary.mre.unit;
  const thresholds = summary.sdr.map((s) => s.threshold);
  const sdrHeader = thresholds.map((t) => `SDR ${t}${unit}`);
  const overall = textTable(
    ['images', 'landmarks', `MRE (${unit})`, 'std', ...sdrHeader],
    [[String(summary.n_images), String(summary.n_landmarks), fixed(summary.mre.value), fixed(summary.mre.std), ...summary.sdr.map((s) => `${fixed(s.percent)}%`)]],
  );
  const perLandmark = textTable(
    ['landmark', `MRE (${unit})`, 'std', ...sdrHeader],
    summary.per_landmark.map((l) => [String(l.landmark), fixed(l.mre), fixed(l.std), ...l.sdr.map((s) => `${fixed(s.percent)}%`)]),
  );
  return `protocol: ${summary.protocol}\n\n${overall}\nper landmark:\n${perLandmark}`;
}

/** Readable mean ± std over folds or repeats. */
export function aggregateToText(agg: AggregateSummary): string {
  const unit = agg.mre.unit;
  return textTable(
    ['runs', `MRE (${unit})`, ...agg.sdr.map((s) => `SDR ${s.threshold}${unit}`)],
    [[String(agg.n_runs), `${fixed(agg.mre.mean)} ± ${fixed(agg.mre.std)}`, ...agg.sdr.map((s) => `${fixed(s.mean)} ± ${fixed(s.std)}%`)]],
  );
}
