import sharp from 'sharp';
import { parse, View } from 'vega';
import { compile, TopLevelSpec } from 'vega-lite';
import type { EvaluationSummary } from '../eval';

/**
 * Plots as PNG: a vega-lite spec is compiled to vega, rendered headless to SVG (vega's 'none'
 * renderer needs no canvas) and rasterised by sharp.
 */

export async function renderPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(scale);
    return await sharp(Buffer.from(svg)).png().toBuffer();
  } finally {
    view.finalize();
  }
}

export interface ErrorSeries {
  label: string;
  /** Every landmark error of the series (all images x landmarks), in `unit`. */
  errors: number[];
}

/** Points of the SDR-versus-threshold curve: percentage of errors at most t, for t from 0 to `max` in `steps` steps. */
export function sdrCurve(errors: number[], max: number, steps = 100): Array<{ threshold: number; sdr: number }> {
  const sorted = Float64Array.from(errors).sort();
  const out: Array<{ threshold: number; sdr: number }> = [];
  let k = 0;
  for (let s = 0; s <= steps; s++) {
    const t = (max * s) / steps;
    while (k < sorted.length && sorted[k] <= t) k++;
    out.push({ threshold: t, sdr: (100 * k) / sorted.length });
  }
  return out;
}

/** SDR-versus-threshold curves, one line per series, with the published thresholds marked. */
export async function sdrCurvePng(series: ErrorSeries[], unit: string, marked: number[], title: string): Promise<Buffer> {
  if (series.length === 0 || series.some((s) => s.errors.length === 0)) throw new Error('an SDR curve needs errors for every series');
  const max = Math.max(...marked) * 2.5;
  const values = series.flatMap((s) => sdrCurve(s.errors, max).map((p) => ({ ...p, series: s.label })));
  return renderPng({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: 480,
    height: 300,
    layer: [
      {
        data: { values: marked.map((t) => ({ t })) },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'threshold', type: 'quantitative', title: `threshold (${unit})`, scale: { domain: [0, max] } },
          y: { field: 'sdr', type: 'quantitative', title: 'SDR (%)', scale: { domain: [0, 100] } },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
    ],
  });
}

/** Mean error per landmark with ±1 std whiskers; several summaries are drawn side by side. */
export async function perLandmarkPng(summaries: Array<{ label: string; summary: EvaluationSummary }>, title: string): Promise<Buffer> {
  if (summaries.length === 0) throw new Error('no results to plot per landmark');
  const unit = summaries[0].summary.mre.unit;
  const values = summaries.flatMap(({ label, summary }) =>
    summary.per_landmark.map((l) => ({ landmark: l.landmark, mre: l.mre, low: Math.max(0, l.mre - l.std), high: l.mre + l.std, series: label })),
  );
  const x = { field: 'landmark', type: 'ordinal' as const, title: 'landmark' };
  const xOffset = { field: 'series', type: 'nominal' as const };
  return renderPng({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    width: Math.max(300, 14 * values.length),
    height: 260,
    data: { values },
    layer: [
      { mark: 'bar', encoding: { x, xOffset, y: { field: 'mre', type: 'quantitative', title: `mean radial error (${unit})` }, color: { field: 'series', type: 'nominal', title: null } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { x, xOffset, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
    ],
  });
}
