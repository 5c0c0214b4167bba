import { mkdir } from 'fs/promises';
import { join, resolve } from 'path';
import { loadDataset } from '../data/load';
import type { LandmarkItem } from '../data/types';
import { writeFileAtomic } from '../util/fs';
import { overlayImageFile } from './overlay';
import { STUDY_DATASETS, StudyPlan } from './plan';
import { perLandmarkPng, sdrCurvePng } from './plots';
import { crossValidationTable, Table, testTable, transferTable, writeTables } from './report';
import { CrossValidationResult, DataSelection, readErrors, readRunPredictions, RunRecord } from './runner';

/** Items of a data selection (default: `loadDataset`), for overlays. */
export type ItemSource = (data: DataSelection) => Promise<LandmarkItem[]>;

const loadItems: ItemSource = async (data) => (await loadDataset(data)).items;

export interface ReportOptions {
  /** Overlays drawn per scored run (first N images of its evaluation set). Default 4; 0 for none. */
  overlays?: number;
  /** What was trained (e.g. 'DeepLabV3 / EfficientNet-B7, width 1, 200 epochs'), for the report's heading. */
  model?: string;
  items?: ItemSource;
}

async function writeOverlays(runDir: string, record: RunRecord, outDir: string, count: number, items: ItemSource): Promise<string[]> {
  if (count <= 0) return [];
  const predictions = await readRunPredictions(runDir);
  const chosen = (await items(record.data)).filter((i) => predictions.has(i.id)).slice(0, count);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const item of chosen) {
    const name = `${item.id.replace(/\.(png|jpe?g|bmp|mha|dcm|tiff?|webp)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_')}.png`;
    await writeFileAtomic(join(outDir, name), await overlayImageFile(item.imagePath, item.landmarks, predictions.get(item.id) as LandmarkItem['landmarks']));
    written.push(join(outDir, name));
  }
  return written;
}

/** Tables 2 and 3, SDR curves and per-landmark bars per target, overlays of the direct chains; into OUT/report. */
export async function writeStudyReport(outDir: string, plan: StudyPlan, records: Map<string, RunRecord>, options: ReportOptions = {}): Promise<string> {
  const reportDir = resolve(outDir, 'report');
  await mkdir(reportDir, { recursive: true });
  const tables: Array<{ name: string; table: Table }> = [];
  for (const target of STUDY_DATASETS) {
    const table = transferTable(plan, records, target);
    if (!table) continue;
    tables.push({ name: `table2-${target}`, table });
    const chains = plan.chains.filter((c) => c.target === target && records.has(c.runId));
    const series = [];
    for (const c of chains) {
      const errors = await readErrors(resolve(outDir, 'runs', c.runId));
      if (errors) series.push({ label: c.label, errors: errors.errors.flat() });
    }
    const first = (records.get(chains[0].runId) as RunRecord).summary;
    if (series.length > 0) {
      const thresholds = first.sdr.map((s) => s.threshold);
      await writeFileAtomic(join(reportDir, `sdr-${target}.png`), await sdrCurvePng(series, first.mre.unit, thresholds, `SDR versus threshold, target ${target}`));
    }
    const summaries = chains.map((c) => ({ label: c.label, summary: (records.get(c.runId) as RunRecord).summary }));
    await writeFileAtomic(join(reportDir, `per-landmark-${target}.png`), await perLandmarkPng(summaries, `Error per landmark, target ${target}`));
    const direct = chains.find((c) => c.sources.length === 0);
    if (direct) {
      const runDir = resolve(outDir, 'runs', direct.runId);
      await writeOverlays(runDir, records.get(direct.runId) as RunRecord, join(reportDir, 'overlays', direct.runId), options.overlays ?? 4, options.items ?? loadItems);
    }
  }
  const table3 = testTable(plan, records);
  if (table3) tables.push({ name: 'table3', table: table3 });
  if (tables.length === 0) throw new Error('no finished runs to report');
  return writeTables(reportDir, tables, `Transfer-learning study${options.model ? `, ${options.model}` : ''}`);
}

/** Table 1, the pooled SDR curve and per-landmark bars over folds, overlays of the first fold; into OUT/report. */
export async function writeCrossValidationReport(outDir: string, label: string, result: CrossValidationResult, options: ReportOptions = {}): Promise<string> {
  const reportDir = resolve(outDir, 'report');
  await mkdir(reportDir, { recursive: true });
  const table = crossValidationTable([{ dataset: label, aggregate: result.aggregate, baseline: result.baseline }]);
  const series = [];
  for (const r of result.folds) {
    const errors = await readErrors(resolve(outDir, 'runs', r.runId));
    if (errors) series.push({ label: r.runId, errors: errors.errors.flat() });
  }
  const first = result.folds[0];
  const thresholds = first.summary.sdr.map((s) => s.threshold);
  if (series.length > 0) {
    await writeFileAtomic(join(reportDir, 'sdr-folds.png'), await sdrCurvePng(series, first.summary.mre.unit, thresholds, `SDR versus threshold, ${label}, per fold`));
  }
  await writeFileAtomic(join(reportDir, 'per-landmark-folds.png'), await perLandmarkPng(result.folds.map((r) => ({ label: r.runId, summary: r.summary })), `Error per landmark, ${label}`));
  await writeOverlays(resolve(outDir, 'runs', first.runId), first, join(reportDir, 'overlays', first.runId), options.overlays ?? 4, options.items ?? loadItems);
  return writeTables(reportDir, [{ name: 'table1', table }], `Cross-validation: ${label}${options.model ? `, ${options.model}` : ''}`);
}
