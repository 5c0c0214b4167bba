/**
 * A model with refinement stages, stored one of two ways, their settings in `lmk.refine` either way (one
 * object, or a list for a chain: each refinement crops about the point the one before it found):
 * - one file holding every stage (lmk train --first-stage, lmk join): the first stage's graph
 *   (input `image`, output `heatmaps`) and each refinement's beside it (the first's input `crops`, output
 *   `crop_heatmaps`, values named `refine.*`; the n-th's `crops_n`, `crop_heatmaps_n`, `refineN.*`);
 * - a first stage whose `lmk.refine` names each refinement's own file beside it (`file`), so that each file
 *   stays under the size a shipped model's file may take (scripts/ship-refinement.js).
 * Either way the Predictor runs each stage in a session of its own (stagesOf).
 */
import { basename, dirname, join } from 'path';
import { specFromMetadata, type ModelSpec } from '../models/spec';
import { parseModel, parseModelFile, readModelFile, serializeModel, type Graph, type Model, type Node } from '../onnx';
import type { RefineSettings } from './crops';

export const REFINE_KEY = 'lmk.refine';

/** The graph's names of the refinement at `index` of the chain (the first's are those of files before chains). */
function stageNames(index: number): { crops: string; maps: string; prefix: string } {
  if (index === 0) return { crops: 'crops', maps: 'crop_heatmaps', prefix: 'refine.' };
  const n = index + 1;
  return { crops: `crops_${n}`, maps: `crop_heatmaps_${n}`, prefix: `refine${n}.` };
}

/** What `lmk.refine` states of one refinement, checked. */
export interface StoredRefinement extends RefineSettings {
  output: 'heatmap' | 'spatial-softmax';
  /** The refinement network's file, beside the first stage's; absent where one file holds every stage. */
  file?: string;
}

/** The bounds of the two settings a join may set anew: checked where lmk.refine is read and where a join sets them. */
const isMinScore = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const isRefinedWeight = (v: unknown): v is number => typeof v === 'number' && v > 0 && v <= 1;

/** `lmk.refine` as a chain: one refinement (an object) or several in turn (a list). */
export function parseRefinements(text: string, source: string): StoredRefinement[] {
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    throw new Error(`${source}: ${REFINE_KEY} is not JSON`);
  }
  if (!Array.isArray(stored)) return [checkRefinement(stored, source, REFINE_KEY)];
  if (stored.length === 0) throw new Error(`${source}: ${REFINE_KEY} is an empty list`);
  const chain = stored.map((r, i) => checkRefinement(r, source, `${REFINE_KEY}[${i}]`));
  const files = chain.filter((r) => r.file !== undefined);
  if (files.length !== 0 && files.length !== chain.length) throw new Error(`${source}: ${REFINE_KEY} names a file for some refinements and not others`);
  if (new Set(files.map((r) => r.file)).size !== files.length) throw new Error(`${source}: ${REFINE_KEY} names one file for two refinements`);
  return chain;
}

function checkRefinement(stored: unknown, source: string, key: string): StoredRefinement {
  const r = (typeof stored === 'object' && stored !== null ? stored : {}) as Partial<StoredRefinement>;
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  // Files written before refinedWeight replaced the first stage's point.
  const refinedWeight = r.refinedWeight ?? 1;
  if (!positive(r.crop) || !Number.isInteger(r.crop) || r.crop % 32 !== 0 || !positive(r.factor) || !positive(r.sigma) || !isMinScore(r.minScore)
    || !isRefinedWeight(refinedWeight) || (r.output !== 'heatmap' && r.output !== 'spatial-softmax')) {
    throw new Error(`${source}: ${key} must be {"crop": a multiple of 32, "factor": > 0, "sigma": > 0, "minScore": 0 to 1, "refinedWeight": over 0 to 1 (optional), "output": "heatmap" or "spatial-softmax"}`);
  }
  if (r.file !== undefined && (typeof r.file !== 'string' || basename(r.file) !== r.file || !r.file.endsWith('.onnx'))) {
    throw new Error(`${source}: ${key}'s "file" must name an .onnx file beside the model, got ${JSON.stringify(r.file)}`);
  }
  return { crop: r.crop, factor: r.factor, sigma: r.sigma, minScore: r.minScore, refinedWeight, output: r.output, ...(r.file !== undefined ? { file: r.file } : {}) };
}

/** `lmk.refine`'s text for a chain: an object for one refinement (as files before chains), else a list. */
function refinementsText(chain: object[]): string {
  return JSON.stringify(chain.length === 1 ? chain[0] : chain);
}

/**
 * `first` (a first stage, or one with refinements in the same file) with `refinement` (an lmk model of crops:
 * input `image`, output `heatmaps`) joined as the next refinement of its chain.
 */
export function joinStages(first: Model, refinement: Model, settings: RefineSettings): Model {
  const text = first.metadata?.[REFINE_KEY];
  const chain = text === undefined ? [] : parseRefinements(text, 'the first stage');
  if (chain.some((r) => r.file !== undefined)) throw new Error('the first stage\'s refinements are files of their own: join to the model that holds them in one file');
  const { crops, maps, prefix } = stageNames(chain.length);
  const g = refinement.graph;
  const input = g.inputs.find((i) => i.name === 'image');
  const output = g.outputs.find((o) => o.name === 'heatmaps');
  if (!input || !output || g.inputs.length !== 1 || g.outputs.length !== 1) throw new Error("the refinement stage must have the one input 'image' and the one output 'heatmaps'");
  const rename = (name: string): string => (name === '' ? '' : name === 'image' ? crops : name === 'heatmaps' ? maps : prefix + name);
  const nodes: Node[] = g.nodes.map((n) => ({ ...n, name: prefix + n.name, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }));
  const graph: Graph = {
    ...first.graph,
    inputs: [...first.graph.inputs, { ...input, name: crops }],
    outputs: [...first.graph.outputs, { ...output, name: maps }],
    initializers: [...first.graph.initializers, ...g.initializers.map((t) => ({ ...t, name: rename(t.name) }))],
    nodes: [...first.graph.nodes, ...nodes],
  };
  const joined = {
    ...settings,
    arch: refinement.metadata?.['lmk.arch'], encoder: refinement.metadata?.['lmk.encoder'],
    widthMultiplier: Number(refinement.metadata?.['lmk.width_multiplier']), output: refinement.metadata?.['lmk.output'],
  };
  const stored = text === undefined ? [] : storedObjects(text);
  return { ...first, graph, metadata: { ...first.metadata, [REFINE_KEY]: refinementsText([...stored, joined]) } };
}

/** The stored object of each refinement of the chain in `text`, as written (network facts beside the settings). */
function storedObjects(text: string): Record<string, unknown>[] {
  return [JSON.parse(text)].flat() as Record<string, unknown>[];
}

/**
 * The refinement at `index` of a joined model as a model of its own (input `image`, output `heatmaps`), to join
 * to another first stage: a refinement stage trains on crops, whatever first stage found their centres.
 */
function refinementOf(joined: Model, index: number, settings: StoredRefinement): Model {
  const { crops, maps, prefix } = stageNames(index);
  const unname = (name: string): string => (name === crops ? 'image' : name === maps ? 'heatmaps' : name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const g = joined.graph;
  const input = g.inputs.find((i) => i.name === crops);
  const output = g.outputs.find((o) => o.name === maps);
  if (!input || !output) throw new Error(`the model states ${index + 1} refinements but its graph lacks the input '${crops}' or the output '${maps}'`);
  const nodes = g.nodes.filter((n) => n.name.startsWith(prefix)).map((n) => ({ ...n, name: unname(n.name), inputs: n.inputs.map(unname), outputs: n.outputs.map(unname) }));
  const initializers = g.initializers.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: unname(t.name) }));
  const metadata = refinementMetadata(storedObjects(joined.metadata![REFINE_KEY])[index], settings.output);
  return { ...joined, graph: { ...g, inputs: [{ ...input, name: 'image' }], outputs: [{ ...output, name: 'heatmaps' }], nodes, initializers }, metadata };
}

/** A refinement network's own metadata (lmk.arch, lmk.encoder, lmk.width_multiplier, lmk.output) from its stored object. */
function refinementMetadata(stored: Record<string, unknown>, output: string): Record<string, string> {
  const metadata: Record<string, string> = { 'lmk.output': output };
  if (typeof stored.arch === 'string') metadata['lmk.arch'] = stored.arch;
  if (typeof stored.encoder === 'string') metadata['lmk.encoder'] = stored.encoder;
  if (typeof stored.widthMultiplier === 'number') metadata['lmk.width_multiplier'] = String(stored.widthMultiplier);
  return metadata;
}

/**
 * Each refinement network's spec and crop side where `metadata` (a joined model's) states a chain: they have the
 * first stage's classes and input channels. A refinement whose network the metadata does not state is left out.
 */
export function refinementSpecs(metadata: Record<string, string>, source: string): { spec: ModelSpec; crop: number }[] {
  const text = metadata[REFINE_KEY];
  if (text === undefined) return [];
  const objects = storedObjects(text);
  return parseRefinements(text, source).flatMap(({ crop, output }, i) => {
    const spec = specFromMetadata({ ...refinementMetadata(objects[i], output), 'lmk.classes': metadata['lmk.classes'], 'lmk.in_channels': metadata['lmk.in_channels'] });
    return spec ? [{ spec, crop }] : [];
  });
}

/** A joined model's first stage alone: its graph without the refinements' inputs, outputs, nodes and weights. */
export function firstStageOf(joined: Model): Model {
  const g = joined.graph;
  const { [REFINE_KEY]: text, ...metadata } = joined.metadata ?? {};
  const names = (text === undefined ? [] : storedObjects(text)).map((_, i) => stageNames(i));
  const refinementValue = (name: string) => names.some((n) => name.startsWith(n.prefix));
  return {
    ...joined,
    graph: {
      ...g,
      inputs: g.inputs.filter((i) => !names.some((n) => n.crops === i.name)),
      outputs: g.outputs.filter((o) => !names.some((n) => n.maps === o.name)),
      nodes: g.nodes.filter((n) => !refinementValue(n.name)),
      initializers: g.initializers.filter((t) => !refinementValue(t.name)),
    },
    metadata,
  };
}

/** The file name of the refinement at `index` of a chain stored as files: `file`, then `file` with -2, -3... */
function chainFile(file: string, index: number): string {
  return index === 0 ? file : `${file.slice(0, -'.onnx'.length)}-${index + 1}.onnx`;
}

/**
 * A joined model as files: its first stage, whose `lmk.refine` names each refinement's file (to be written
 * beside it: `file`, then `file` with -2, -3... for a chain), and each refinement stage, to be written there.
 */
export function splitStages(joined: Model, file: string): { first: Model; refinements: { file: string; model: Model }[] } {
  const text = joined.metadata?.[REFINE_KEY];
  if (text === undefined) throw new Error('the model has no refinement stage');
  const chain = parseRefinements(text, 'model');
  if (chain.some((r) => r.file !== undefined)) throw new Error('the model is already a pair of files');
  const stored = storedObjects(text).map((o, i) => ({ ...o, file: chainFile(file, i) }));
  parseRefinements(refinementsText(stored), 'the pair');
  const first = firstStageOf(joined);
  return {
    first: { ...first, metadata: { ...first.metadata, [REFINE_KEY]: refinementsText(stored) } },
    refinements: chain.map((settings, i) => ({ file: chainFile(file, i), model: refinementOf(joined, i, settings) })),
  };
}

function refinementFilePath(settings: StoredRefinement, modelPath: string | undefined, source: string): string {
  if (modelPath === undefined) throw new Error(`${source}: its refinement stage is a file of its own (${settings.file}, beside the model): give the model as a file's path, or turn the refinement off`);
  return join(dirname(modelPath), settings.file!);
}

/** The stages of a model that has refinements (metadata `lmk.refine`), as bytes for a session each. */
export interface StageBytes {
  first: Uint8Array;
  /** The chain in order; empty where the refinement is not wanted. */
  refinements: { bytes: Uint8Array; source: string }[];
}

/**
 * A model file's stages for sessions of their own: a joined file is split (every stage is checked when its
 * session opens), files of a chain stored as files are read. `modelPath`: the file's path, where the model was
 * read from one (refinements stored as files lie beside it).
 */
export function stagesOf(bytes: Uint8Array, chain: StoredRefinement[], modelPath: string | undefined, source: string, refine: boolean): StageBytes {
  const asFiles = chain.length > 0 && chain[0].file !== undefined;
  if (asFiles) {
    const refinements = refine ? chain.map((r) => refinementFilePath(r, modelPath, source)).map((path) => ({ bytes: readModelFile(path, "model's refinement stage"), source: path })) : [];
    return { first: bytes, refinements };
  }
  const joined = parseModel(bytes);
  const label = (i: number) => (chain.length === 1 ? `${source}: refinement stage` : `${source}: refinement stage ${i + 1}`);
  return {
    first: serializeModel(firstStageOf(joined)),
    refinements: refine ? chain.map((r, i) => ({ bytes: serializeModel(refinementOf(joined, i, r)), source: label(i) })) : [],
  };
}

/**
 * The refinement stages of a model that has them, each as a model of its own (input `image`, output
 * `heatmaps`) with its settings: from a joined file, or from the files its first stage names.
 */
export function refinementStages(model: Model, modelPath: string | undefined, source: string): { model: Model; settings: StoredRefinement }[] {
  const text = model.metadata?.[REFINE_KEY];
  if (text === undefined) throw new Error(`${source}: the model has no refinement stage`);
  const chain = parseRefinements(text, source);
  const objects = storedObjects(text);
  return chain.map((settings, i) => {
    if (settings.file === undefined) return { model: refinementOf(model, i, settings), settings };
    const file = refinementFilePath(settings, modelPath, source);
    const { file: _file, ...joinable } = settings;
    const refinement = parseModelFile(readModelFile(file, "model's refinement stage"), file);
    return { model: { ...refinement, metadata: { ...refinementMetadata(objects[i], settings.output), ...refinement.metadata } }, settings: joinable };
  });
}

/**
 * What joinStages takes of a refinement's stored settings (not its output kind, which the refinement model
 * states, nor a pair's file), with the `minScore` and `refinedWeight` given in place of the stored ones.
 */
export function joinSettings(settings: StoredRefinement, given: { minScore?: number; refinedWeight?: number } = {}): RefineSettings {
  const { minScore, refinedWeight } = given;
  if (minScore !== undefined && !isMinScore(minScore)) throw new Error(`--min-score must lie in 0..1, got ${minScore}`);
  if (refinedWeight !== undefined && !isRefinedWeight(refinedWeight)) throw new Error(`--refined-weight must lie over 0 up to 1, got ${refinedWeight}`);
  const { output: _output, file: _file, ...kept } = settings;
  return { ...kept, ...(minScore !== undefined ? { minScore } : {}), ...(refinedWeight !== undefined ? { refinedWeight } : {}) };
}
