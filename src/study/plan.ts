import type { FormatName } from '../data/types';

/**
 * The transfer-learning grid of the paper's Table 2 (Di Via et al. 2024, arXiv 2403.01470): for each
 * target (head, hand, chest) five initialisations: ImageNet; ImageNet -> A; ImageNet -> B;
 * ImageNet -> A -> B; ImageNet -> B -> A, where A and B are the two other data sets, each then
 * fine-tuned on the target. 3 x 5 = 15 chains.
 *
 * Every stage trains on the training split of its data set starting from the previous stage, and
 * every stage is scored on its data set's test split. A chain's prefix is therefore itself a run of
 * another chain (ImageNet -> hand is both the hand target's first row and the first stage of
 * ImageNet -> hand -> head), so runs are keyed by their stage sequence and shared.
 */

export type StudyDataset = 'head' | 'hand' | 'chest';
export const STUDY_DATASETS: StudyDataset[] = ['head', 'hand', 'chest'];
export const STUDY_FORMATS: Record<StudyDataset, FormatName> = { head: 'isbi2015', hand: 'hand-dha', chest: 'chest-shenzhen' };

/** Where training starts: ImageNet encoder weights (the paper), or random initialisation when none are at hand. */
export type StudyInit = 'imagenet' | 'scratch';

export interface StudyRun {
  /** Folder name and key: the init and stages joined by '-', e.g. 'imagenet-hand-head'. */
  id: string;
  init: StudyInit;
  /** Data sets trained on in order; the last is the one this run is scored on. */
  stages: StudyDataset[];
  /** The run whose weights this one starts from; undefined for a first stage. */
  parent?: string;
}

export interface StudyChain {
  target: StudyDataset;
  /** In-domain pre-training before the target, in order (empty for the ImageNet row). */
  sources: StudyDataset[];
  /** As in the paper's table: 'ImageNet -> hand -> chest' (the target fine-tuning is implied). */
  label: string;
  /** The run whose target metrics are this chain's result. */
  runId: string;
}

export interface StudyPlan {
  init: StudyInit;
  chains: StudyChain[];
  /** Every run the chains need, each once, parents before children. */
  runs: StudyRun[];
}

/** The other two data sets, in the fixed order head, hand, chest: (A, B). */
export function sourcesFor(target: StudyDataset): [StudyDataset, StudyDataset] {
  const others = STUDY_DATASETS.filter((d) => d !== target);
  return [others[0], others[1]];
}

const INIT_LABEL: Record<StudyInit, string> = { imagenet: 'ImageNet', scratch: 'scratch' };

export function runId(init: StudyInit, stages: StudyDataset[]): string {
  return [init, ...stages].join('-');
}

export function studyPlan(init: StudyInit, targets: StudyDataset[] = STUDY_DATASETS): StudyPlan {
  const chains: StudyChain[] = [];
  const runs = new Map<string, StudyRun>();
  for (const target of targets) {
    const [a, b] = sourcesFor(target);
    for (const sources of [[], [a], [b], [a, b], [b, a]] as StudyDataset[][]) {
      const stages = [...sources, target];
      stages.forEach((_, k) => {
        const prefix = stages.slice(0, k + 1);
        const id = runId(init, prefix);
        if (!runs.has(id)) runs.set(id, { id, init, stages: prefix, parent: k > 0 ? runId(init, prefix.slice(0, k)) : undefined });
      });
      chains.push({ target, sources, label: [INIT_LABEL[init], ...sources].join(' -> '), runId: runId(init, stages) });
    }
  }
  const ordered = [...runs.values()].sort((x, y) => x.stages.length - y.stages.length);
  return { init, chains, runs: ordered };
}

/** `lmk study --plan`: the chains and the runs they share. */
export function formatPlan(plan: StudyPlan): string {
  const lines = [`${plan.chains.length} chains (${plan.runs.length} distinct training runs, shared prefixes trained once):`, ''];
  for (const target of STUDY_DATASETS) {
    const chains = plan.chains.filter((c) => c.target === target);
    if (chains.length === 0) continue;
    lines.push(`target ${target} (${STUDY_FORMATS[target]}):`);
    chains.forEach((c, k) => lines.push(`  ${k + 1}. ${c.label} -> fine-tune on ${target}    [run ${c.runId}]`));
    lines.push('');
  }
  lines.push('runs in training order:');
  plan.runs.forEach((r, k) => lines.push(`  ${String(k + 1).padStart(2)}. ${r.id}: train on ${r.stages[r.stages.length - 1]} from ${r.parent ?? plan.init}`));
  return lines.join('\n') + '\n';
}
