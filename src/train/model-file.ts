/** The files a run starts from and ends with: initial weights in, the model (safetensors and ONNX) out. */
import { promises as fsp } from 'fs';
import { basename, dirname } from 'path';
import { LANDMARK_NAMES_KEY, serializeLandmarkNames } from '../data/landmark-names';
import { exportModel } from '../models/export';
import { writeSafetensors } from '../models/safetensors';
import { ModelSpec, resolveSpec } from '../models/spec';
import type { StateDict } from '../models/state-dict';
import { importSafetensors, readWeightsFile } from '../models/weights';
import { Model, parseModel, saveModel } from '../onnx';
import { REFINE_MIN_SCORE, REFINED_WEIGHT } from '../refine/crops';
import { joinStages } from '../refine/stages';
import { buildShapeModel, FRAMING_KEY, MIN_SHAPE_ITEMS, MIN_SHAPE_LANDMARKS, serializeFraming, serializeShapeModel, SHAPE_MODEL_KEY } from '../shape';
import type { Resolved } from './options';
import { outputKind } from './step-graph';

/** Weights to start from: a checkpoint's or model's smp tensors, an smp file, or an ImageNet encoder. */
export async function loadInitialWeights(path: string, spec: ModelSpec, seed: number): Promise<StateDict> {
  const contents = await readWeightsFile(path);
  const head = contents.tensors.get('segmentation_head.0.weight');
  // A different landmark count keeps everything but the head (fine-tuning chains A -> B -> target).
  const freshHead = head !== undefined && head.dims[0] !== resolveSpec(spec).classes;
  return importSafetensors(spec, contents, { seed, freshHead, source: path });
}

export async function writeModel(modelPath: string, onnxPath: string, weights: StateDict, r: Resolved): Promise<void> {
  if (r.refine) return writeRefinedModel(modelPath, onnxPath, weights, r);
  const metadata = {
    'lmk.grid_height': String(r.grid.height),
    'lmk.grid_width': String(r.grid.width),
    'lmk.sigma': String(r.sigma),
    // The training shape, for the Predictor's check against far-off points (where one can be checked).
    ...(r.spec.classes >= MIN_SHAPE_LANDMARKS && r.train.length >= MIN_SHAPE_ITEMS ? { [SHAPE_MODEL_KEY]: serializeShapeModel(buildShapeModel(r.train)) } : {}),
    // How its images frame the landmarks, for the second look at images framed otherwise.
    ...(r.framing ? { [FRAMING_KEY]: serializeFraming(r.framing) } : {}),
    // A fine-tuned model keeps its base model's shape model and plausibility bound (train/base-model.ts).
    ...r.keptMetadata,
  };
  await fsp.mkdir(dirname(modelPath), { recursive: true });
  await writeSafetensors(modelPath, weights, metadata);
  await fsp.mkdir(dirname(onnxPath), { recursive: true });
  const model = exportModel(r.spec, weights, {
    metadata: { ...metadata, 'lmk.loss': r.loss, 'lmk.output': outputKind(r.loss), [LANDMARK_NAMES_KEY]: serializeLandmarkNames(r.landmarkNames) },
  });
  if (r.loss === 'bce' || r.loss === 'softmax_ce') outputProbabilities(model, r.loss);
  await saveModel(r.keptRefinements.reduce((joined, kept) => joinStages(joined, kept.model, kept.settings), model), onnxPath);
}

/**
 * The refinement stage's run: its weights alone in the safetensors file, and the ONNX model of both stages
 * (its first stage's file with this stage joined: src/refine/stages.ts), which lmk predict and eval read.
 */
async function writeRefinedModel(modelPath: string, onnxPath: string, weights: StateDict, r: Resolved): Promise<void> {
  const { firstStage, sampling } = r.refine!;
  const metadata = {
    'lmk.stage': 'refinement', 'lmk.crop': String(r.grid.width), 'lmk.crop_factor': String(sampling.factor), 'lmk.sigma': String(r.sigma),
    'lmk.first_stage': basename(firstStage.path),
  };
  await fsp.mkdir(dirname(modelPath), { recursive: true });
  await writeSafetensors(modelPath, weights, metadata);
  const refinement = exportModel(r.spec, weights, { metadata: { ...metadata, 'lmk.loss': r.loss, 'lmk.output': outputKind(r.loss) } });
  if (r.loss === 'bce' || r.loss === 'softmax_ce') outputProbabilities(refinement, r.loss);
  await fsp.mkdir(dirname(onnxPath), { recursive: true });
  await saveModel(joinStages(parseModel(firstStage.bytes), refinement, { crop: r.grid.width, factor: sampling.factor, sigma: r.sigma, minScore: REFINE_MIN_SCORE, refinedWeight: REFINED_WEIGHT }), onnxPath);
}

/**
 * Models trained on logits end with what turns them into the maps the decoders read: BCE's sigmoid (peaks
 * about 1 when confident, positive, as the refinement windows expect), or softmax_ce's softmax over each
 * channel's grid (a distribution; see heatmaps/distribution.ts).
 */
function outputProbabilities(model: Model, loss: 'bce' | 'softmax_ce'): void {
  const output = model.graph.outputs[0].name;
  const producer = model.graph.nodes.find((n) => n.outputs.includes(output))!;
  const logits = `${output}_logits`;
  producer.outputs = producer.outputs.map((o) => (o === output ? logits : o));
  const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Model['graph']['nodes'][number]['attributes'] = {}) =>
    model.graph.nodes.push({ name, opType, inputs, outputs, attributes });
  if (loss === 'bce') {
    node('heatmap_probabilities', 'Sigmoid', [logits], [output]);
    return;
  }
  // [N, K, H, W] -> [N, K, H x W] (whatever the grid), softmax, and back.
  model.graph.initializers.push({ name: 'heatmap_rows_shape', dataType: 'int64', dims: [3], data: BigInt64Array.from([0n, 0n, -1n]) });
  node('heatmap_rows', 'Reshape', [logits, 'heatmap_rows_shape'], [`${output}_rows`]);
  node('heatmap_softmax', 'Softmax', [`${output}_rows`], [`${output}_distribution`], { axis: { type: 'int', value: 2 } });
  node('heatmap_shape', 'Shape', [logits], [`${output}_shape`]);
  node('heatmap_distribution', 'Reshape', [`${output}_distribution`, `${output}_shape`], [output]);
}
