/**
 * One model file holding both stages: the first stage's graph (input `image`, output `heatmaps`) and the
 * refinement stage's beside it (input `crops`, output `crop_heatmaps`, its values named `refine.*`), with
 * the refinement's settings in `lmk.refine`. ONNX Runtime asks for every input at each run and runs every
 * node: the stage not wanted gets one 32x32 image of zeros (an empty batch fails in the softmax's reshape).
 */
import { specFromMetadata, type ModelSpec } from '../models/spec';
import type { Graph, Model, Node } from '../onnx';
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
export function refinementOf(joined: Model): { model: Model; settings: StoredRefinement } {
  const text = joined.metadata?.[REFINE_KEY];
  if (text === undefined) throw new Error('the model has no refinement stage');
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
}

export function parseRefinement(text: string, source: string): StoredRefinement {
  let r: Partial<StoredRefinement>;
  try {
    r = JSON.parse(text) as Partial<StoredRefinement>;
  } catch {
    throw new Error(`${source}: ${REFINE_KEY} is not JSON`);
  }
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const unit = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
  if (!positive(r.crop) || !Number.isInteger(r.crop) || r.crop % 32 !== 0 || !positive(r.factor) || !positive(r.sigma) || !unit(r.minScore)
    || (r.output !== 'heatmap' && r.output !== 'spatial-softmax')) {
    throw new Error(`${source}: ${REFINE_KEY} must be {"crop": a multiple of 32, "factor": > 0, "sigma": > 0, "minScore": 0 to 1, "output": "heatmap" or "spatial-softmax"}`);
  }
  return { crop: r.crop, factor: r.factor, sigma: r.sigma, minScore: r.minScore, output: r.output };
}
