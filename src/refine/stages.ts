/**
 * A model with a refinement stage, stored one of two ways, its settings in `lmk.refine` either way:
 * - one file holding both stages (lmk train --first-stage, scripts/join-stages.js): the first stage's graph
 *   (input `image`, output `heatmaps`) and the refinement stage's beside it (input `crops`, output
 *   `crop_heatmaps`, its values named `refine.*`);
 * - a first stage whose `lmk.refine` names the refinement's own file beside it (`file`), so that each file
 *   stays under the size a shipped model's file may take (scripts/ship-refinement.js).
 * Either way the Predictor runs each stage in a session of its own (stagesOf).
 */
import { readFileSync } from 'fs';
import { basename, dirname, join } from 'path';
import { specFromMetadata, type ModelSpec } from '../models/spec';
import { parseModel, serializeModel, type Graph, type Model, type Node } from '../onnx';
import type { RefineSettings } from './crops';

export const REFINE_KEY = 'lmk.refine';
export const CROPS_INPUT = 'crops';
export const CROP_MAPS_OUTPUT = 'crop_heatmaps';
const PREFIX = 'refine.';

/** The first stage's model with `refinement` (an lmk model of crops: input `image`, output `heatmaps`) joined. */
export function joinStages(first: Model, refinement: Model, settings: RefineSettings): Model {
  if (first.metadata?.[REFINE_KEY] !== undefined) throw new Error('the first stage already has a refinement stage');
  const g = refinement.graph;
  const input = g.inputs.find((i) => i.name === 'image');
  const output = g.outputs.find((o) => o.name === 'heatmaps');
  if (!input || !output || g.inputs.length !== 1 || g.outputs.length !== 1) throw new Error("the refinement stage must have the one input 'image' and the one output 'heatmaps'");
  const rename = (name: string): string => (name === '' ? '' : name === 'image' ? CROPS_INPUT : name === 'heatmaps' ? CROP_MAPS_OUTPUT : PREFIX + name);
  const nodes: Node[] = g.nodes.map((n) => ({ ...n, name: PREFIX + n.name, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) }));
  const graph: Graph = {
    ...first.graph,
    inputs: [...first.graph.inputs, { ...input, name: CROPS_INPUT }],
    outputs: [...first.graph.outputs, { ...output, name: CROP_MAPS_OUTPUT }],
    initializers: [...first.graph.initializers, ...g.initializers.map((t) => ({ ...t, name: rename(t.name) }))],
    nodes: [...first.graph.nodes, ...nodes],
  };
  const refineMetadata = {
    ...settings,
    arch: refinement.metadata?.['lmk.arch'], encoder: refinement.metadata?.['lmk.encoder'],
    widthMultiplier: Number(refinement.metadata?.['lmk.width_multiplier']), output: refinement.metadata?.['lmk.output'],
  };
  return { ...first, graph, metadata: { ...first.metadata, [REFINE_KEY]: JSON.stringify(refineMetadata) } };
}

/**
 * The refinement stage of a joined model as a model of its own (input `image`, output `heatmaps`), to join to
 * another first stage: a refinement stage trains on crops, whatever first stage found their centres.
 */
function refinementOf(joined: Model): { model: Model; settings: StoredRefinement } {
  const text = joined.metadata![REFINE_KEY];
  const settings = parseRefinement(text, 'model');
  const unname = (name: string): string => (name === CROPS_INPUT ? 'image' : name === CROP_MAPS_OUTPUT ? 'heatmaps' : name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name);
  const g = joined.graph;
  const input = g.inputs.find((i) => i.name === CROPS_INPUT)!;
  const output = g.outputs.find((o) => o.name === CROP_MAPS_OUTPUT)!;
  const nodes = g.nodes.filter((n) => n.name.startsWith(PREFIX)).map((n) => ({ ...n, name: unname(n.name), inputs: n.inputs.map(unname), outputs: n.outputs.map(unname) }));
  const initializers = g.initializers.filter((t) => t.name.startsWith(PREFIX)).map((t) => ({ ...t, name: unname(t.name) }));
  return {
    model: { ...joined, graph: { ...g, inputs: [{ ...input, name: 'image' }], outputs: [{ ...output, name: 'heatmaps' }], nodes, initializers }, metadata: refinementMetadata(text, settings.output) },
    settings,
  };
}

/** The refinement network's own metadata (lmk.arch, lmk.encoder, lmk.width_multiplier, lmk.output) from `lmk.refine`. */
function refinementMetadata(text: string, output: string): Record<string, string> {
  const stored = JSON.parse(text) as Record<string, unknown>;
  const metadata: Record<string, string> = { 'lmk.output': output };
  if (typeof stored.arch === 'string') metadata['lmk.arch'] = stored.arch;
  if (typeof stored.encoder === 'string') metadata['lmk.encoder'] = stored.encoder;
  if (typeof stored.widthMultiplier === 'number') metadata['lmk.width_multiplier'] = String(stored.widthMultiplier);
  return metadata;
}

/**
 * The refinement network's spec and crop side where `metadata` (a joined model's) holds one: it has the first
 * stage's classes and input channels.
 */
export function refinementSpec(metadata: Record<string, string>, source: string): { spec: ModelSpec; crop: number } | undefined {
  const text = metadata[REFINE_KEY];
  if (text === undefined) return undefined;
  const { crop, output } = parseRefinement(text, source);
  const spec = specFromMetadata({ ...refinementMetadata(text, output), 'lmk.classes': metadata['lmk.classes'], 'lmk.in_channels': metadata['lmk.in_channels'] });
  return spec ? { spec, crop } : undefined;
}

/** What `lmk.refine` states, checked. */
export interface StoredRefinement extends RefineSettings {
  output: 'heatmap' | 'spatial-softmax';
  /** The refinement network's file, beside the first stage's; absent where one file holds both. */
  file?: string;
}

/** The bounds of the two settings a join may set anew: checked where lmk.refine is read and where a join sets them. */
const isMinScore = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const isRefinedWeight = (v: unknown): v is number => typeof v === 'number' && v > 0 && v <= 1;

export function parseRefinement(text: string, source: string): StoredRefinement {
  let r: Partial<StoredRefinement>;
  try {
    r = JSON.parse(text) as Partial<StoredRefinement>;
  } catch {
    throw new Error(`${source}: ${REFINE_KEY} is not JSON`);
  }
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  // Files written before refinedWeight replaced the first stage's point.
  const refinedWeight = r.refinedWeight ?? 1;
  if (!positive(r.crop) || !Number.isInteger(r.crop) || r.crop % 32 !== 0 || !positive(r.factor) || !positive(r.sigma) || !isMinScore(r.minScore)
    || !isRefinedWeight(refinedWeight) || (r.output !== 'heatmap' && r.output !== 'spatial-softmax')) {
    throw new Error(`${source}: ${REFINE_KEY} must be {"crop": a multiple of 32, "factor": > 0, "sigma": > 0, "minScore": 0 to 1, "refinedWeight": over 0 to 1 (optional), "output": "heatmap" or "spatial-softmax"}`);
  }
  if (r.file !== undefined && (typeof r.file !== 'string' || basename(r.file) !== r.file || !r.file.endsWith('.onnx'))) {
    throw new Error(`${source}: ${REFINE_KEY}'s "file" must name an .onnx file beside the model, got ${JSON.stringify(r.file)}`);
  }
  return { crop: r.crop, factor: r.factor, sigma: r.sigma, minScore: r.minScore, refinedWeight, output: r.output, ...(r.file !== undefined ? { file: r.file } : {}) };
}

/** A joined model's first stage alone: its graph without the refinement's inputs, outputs, nodes and weights. */
export function firstStageOf(joined: Model): Model {
  const g = joined.graph;
  const { [REFINE_KEY]: _refine, ...metadata } = joined.metadata ?? {};
  return {
    ...joined,
    graph: {
      ...g,
      inputs: g.inputs.filter((i) => i.name !== CROPS_INPUT),
      outputs: g.outputs.filter((o) => o.name !== CROP_MAPS_OUTPUT),
      nodes: g.nodes.filter((n) => !n.name.startsWith(PREFIX)),
      initializers: g.initializers.filter((t) => !t.name.startsWith(PREFIX)),
    },
    metadata,
  };
}

/**
 * A joined model as a pair of models: its first stage, whose `lmk.refine` names `file` (to be written beside
 * it), and its refinement stage, to be written there.
 */
export function splitStages(joined: Model, file: string): { first: Model; refinement: Model } {
  const text = joined.metadata?.[REFINE_KEY];
  if (text === undefined) throw new Error('the model has no refinement stage');
  if (parseRefinement(text, 'model').file !== undefined) throw new Error('the model is already a pair of files');
  const stored = { ...(JSON.parse(text) as Record<string, unknown>), file };
  parseRefinement(JSON.stringify(stored), 'the pair');
  const first = firstStageOf(joined);
  return { first: { ...first, metadata: { ...first.metadata, [REFINE_KEY]: JSON.stringify(stored) } }, refinement: refinementOf(joined).model };
}

/** The refinement network's file of a first stage stored as a pair, or undefined where one file holds both. */
function refinementFile(settings: StoredRefinement, modelPath: string | undefined, source: string): string | undefined {
  if (settings.file === undefined) return undefined;
  if (modelPath === undefined) throw new Error(`${source}: its refinement stage is a file of its own (${settings.file}, beside the model): give the model as a file's path, or turn the refinement off`);
  return join(dirname(modelPath), settings.file);
}

function readRefinementFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the model's refinement stage: ${(err as Error).message}`);
  }
}

/** The two stages of a model that has a refinement stage (metadata `lmk.refine`), as bytes for a session each. */
export interface StageBytes {
  first: Uint8Array;
  /** Absent where the refinement is not wanted. */
  refinement?: { bytes: Uint8Array; source: string };
}

/**
 * A model file's stages for sessions of their own: a joined file is split (both stages are checked when
 * their sessions open), a pair's refinement is read from its file. `modelPath`: the file's path, where the
 * model was read from one (a pair's refinement lies beside it).
 */
export function stagesOf(bytes: Uint8Array, settings: StoredRefinement, modelPath: string | undefined, source: string, refine: boolean): StageBytes {
  const file = refine ? refinementFile(settings, modelPath, source) : undefined;
  if (file !== undefined) return { first: bytes, refinement: { bytes: readRefinementFile(file), source: file } };
  if (settings.file !== undefined) return { first: bytes };
  const joined = parseModel(bytes);
  return {
    first: serializeModel(firstStageOf(joined)),
    ...(refine ? { refinement: { bytes: serializeModel(refinementOf(joined).model), source: `${source}: refinement stage` } } : {}),
  };
}

/**
 * The refinement stage of a model that has one, as a model of its own (input `image`, output `heatmaps`) with
 * its settings: from a joined file, or from the file a pair's first stage names.
 */
export function refinementStage(model: Model, modelPath: string | undefined, source: string): { model: Model; settings: StoredRefinement } {
  const text = model.metadata?.[REFINE_KEY];
  if (text === undefined) throw new Error(`${source}: the model has no refinement stage`);
  const settings = parseRefinement(text, source);
  const file = refinementFile(settings, modelPath, source);
  if (file === undefined) return refinementOf(model);
  const { file: _file, ...joinable } = settings;
  const bytes = readRefinementFile(file);
  let refinement: Model;
  try {
    refinement = parseModel(bytes);
  } catch {
    throw new Error(`${file}: not an ONNX model`);
  }
  return { model: { ...refinement, metadata: { ...refinementMetadata(text, settings.output), ...refinement.metadata } }, settings: joinable };
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
