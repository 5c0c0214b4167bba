import { join } from 'path';
import type { AggregateSummary, EvaluationSummary } from '../eval';
import { writeFileAtomic } from '../util/fs';
import { STUDY_DATASETS, STUDY_FORMATS, StudyDataset, StudyPlan } from './plan';
import type { RunRecord } from './runner';

/**
 * Tables laid out like the paper's (Di Via et al. 2024, arXiv 2403.01470):
 * Table 1, 5-fold cross-validation on the training parts (MRE ± std, SDR ± std per threshold);
 * Table 2, the transfer grid: per target, one row per initialisation chain;
 * Table 3, test-split results of the ImageNet-initialised model per data set.
 * Each table comes as Markdown (for people) and CSV (for tools).
 */

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  notes?: string[];
}

const num = (v: number, digits = 2): string => v.toFixed(digits);

function csvCell(cell: string): string {
  return /[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function tableToCsv(table: Table): string {
  return [table.header, ...table.rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function tableToMarkdown(table: Table): string {
  const escape = (c: string): string => c.replace(/\|/g, '\\|');
  const lines = [
    `### ${table.title}`,
    '',
    `| ${table.header.map(escape).join(' | ')} |`,
    `|${table.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...table.rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ];
  if (table.notes?.length) lines.push('', ...table.notes.map((n) => `_${n}_`));
  return lines.join('\n') + '\n';
}

function sdrHeader(summary: { sdr: Array<{ threshold: number }> }, unit: string): string[] {
  return summary.sdr.map((s) => `SDR ${s.threshold} ${unit} (%)`);
}

const MEAN_SHAPE_NOTE = 'mean shape: every landmark at its mean position over the training items (the trivial answer), scored on the same images as the model.';

/** Table 1: one row per data set with its cross-validation aggregate, and the mean shape's below it when known. */
export function crossValidationTable(results: Array<{ dataset: string; aggregate: AggregateSummary; baseline?: AggregateSummary }>): Table {
  if (results.length === 0) throw new Error('no cross-validation results for Table 1');
  // Data sets differ in thresholds, so columns are the union, blank where a data set has none.
  const thresholds = [...new Set(results.flatMap((r) => r.aggregate.sdr.map((s) => `${s.threshold} ${r.aggregate.mre.unit}`)))];
  const row = (label: string, aggregate: AggregateSummary): string[] => [
    label,
    `${num(aggregate.mre.mean)} ${aggregate.mre.unit}`,
    num(aggregate.mre.std),
    ...thresholds.map((t) => {
      const s = aggregate.sdr.find((x) => `${x.threshold} ${aggregate.mre.unit}` === t);
      return s ? `${num(s.mean)} ± ${num(s.std)}` : '';
    }),
  ];
  return {
    title: `Table 1: ${results[0].aggregate.n_runs}-fold cross-validation on the training split`,
    header: ['Dataset', 'MRE', 'MRE std (over folds)', ...thresholds.map((t) => `SDR ${t} (%)`)],
    rows: results.flatMap(({ dataset, aggregate, baseline }) => (baseline ? [row(dataset, aggregate), row(`${dataset}: mean shape`, baseline)] : [row(dataset, aggregate)])),
    notes: results.some((r) => r.baseline) ? [MEAN_SHAPE_NOTE] : undefined,
  };
}

function summaryCells(s: EvaluationSummary): string[] {
  return [num(s.mre.value), num(s.mre.std), ...s.sdr.map((x) => num(x.percent))];
}

/** Table 2: for one target, the five chains' test results. Chains not yet run are left out (and said so). */
export function transferTable(plan: StudyPlan, records: Map<string, RunRecord>, target: StudyDataset): Table | undefined {
  const chains = plan.chains.filter((c) => c.target === target);
  const done = chains.filter((c) => records.has(c.runId));
  if (done.length === 0) return undefined;
  const first = (records.get(done[0].runId) as RunRecord).summary;
  const unit = first.mre.unit;
  const missing = chains.filter((c) => !records.has(c.runId)).map((c) => c.label);
  // Every chain of a target is scored on its test split after training on its training split: one baseline.
  const baseline = done.map((c) => (records.get(c.runId) as RunRecord).baseline).find((b) => b !== undefined);
  const rows = done.map((c) => [c.label, ...summaryCells((records.get(c.runId) as RunRecord).summary)]);
  if (baseline) rows.push(['mean shape (no model)', ...summaryCells(baseline.summary)]);
  const notes = [...(missing.length ? [`not run yet: ${missing.join('; ')}`] : []), ...(baseline ? [MEAN_SHAPE_NOTE] : [])];
  return {
    title: `Table 2 (${target}, ${STUDY_FORMATS[target]}): pre-training chains, then fine-tuning on ${target}; test split`,
    header: ['Pre-training', `MRE (${unit})`, 'std', ...sdrHeader(first, unit)],
    rows,
    notes: notes.length ? notes : undefined,
  };
}

/** Table 3: the directly ImageNet- (or scratch-) initialised model on each data set's test split. */
export function testTable(plan: StudyPlan, records: Map<string, RunRecord>): Table | undefined {
  const rows: string[][] = [];
  const row = (target: StudyDataset, method: string, s: EvaluationSummary): string[] => [
    `${target} (${s.protocol})`,
    method,
    `${num(s.mre.value)} ± ${num(s.mre.std)} ${s.mre.unit}`,
    s.sdr.map((x) => `${x.threshold}: ${num(x.percent)}`).join('; '),
  ];
  let withBaseline = false;
  for (const target of STUDY_DATASETS) {
    const chain = plan.chains.find((c) => c.target === target && c.sources.length === 0);
    const record = chain && records.get(chain.runId);
    if (!record) continue;
    rows.push(row(target, `U-Net++ / VGG19, ${chain.label}`, record.summary));
    if (record.baseline) {
      rows.push(row(target, 'mean shape (no model)', record.baseline.summary));
      withBaseline = true;
    }
  }
  if (rows.length === 0) return undefined;
  return {
    title: 'Table 3: test split results',
    header: ['Dataset', 'Method', 'MRE ± std', 'SDR (%) by threshold'],
    rows,
    notes: [
      ...(withBaseline ? [MEAN_SHAPE_NOTE] : []),
      'For the published rows of other methods compare with Zhu et al. 2021 (GU2Net, MICCAI, arXiv 2103.04657, Table 1) and Di Via et al. 2024 (arXiv 2403.01470, Table 3); use the gu2net protocol (lmk eval --protocol gu2net) for numbers comparable with those tables.',
      'Their values are not copied here: they could not be verified against the papers while this report generator was written.',
    ],
  };
}

/** Writes each table as NAME.md and NAME.csv under `dir`, and `report.md` with all of them. */
export async function writeTables(dir: string, tables: Array<{ name: string; table: Table }>, heading: string): Promise<string> {
  for (const { name, table } of tables) {
    await writeFileAtomic(join(dir, `${name}.md`), tableToMarkdown(table));
    await writeFileAtomic(join(dir, `${name}.csv`), tableToCsv(table));
  }
  const report = [`# ${heading}`, '', ...tables.map(({ table }) => tableToMarkdown(table))].join('\n');
  const path = join(dir, 'report.md');
  await writeFileAtomic(path, report);
  return path;
}
