import { Model, GraphBuilder, saveModel } from '../onnx';
import { InferenceLayers } from './inference-layers';
import { buildNetwork } from './network';
import { listTensors } from './parameters';
import { ModelSpec, resolveSpec } from './spec';
import { formatShape, sameShape, StateDict } from './state-dict';
import { WeightsMismatchError } from './weights';

export interface ExportOptions {
  /** Extra metadata (the trainer adds lmk.grid_height, lmk.grid_width, lmk.sigma). */
  metadata?: Record<string, string>;
}

/** The metadata keys lmk writes for a spec. */
export function specMetadata(spec: ModelSpec): Record<string, string> {
  const s = resolveSpec(spec);
  return {
    'lmk.arch': s.arch,
    'lmk.encoder': s.encoder,
    'lmk.classes': String(s.classes),
    'lmk.in_channels': String(s.inChannels),
    'lmk.width_multiplier': String(s.widthMultiplier),
  };
}

/**
 * The inference model for `spec` with the weights of `stateDict` (complete, smp names; see importWeights):
 * input `image` float32 [N, inChannels, H, W] (ImageNet-normalised; H and W multiples of 32), output
 * `heatmaps` float32 [N, classes, H, W], raw. N, H and W are symbolic.
 */
export function exportModel(spec: ModelSpec, stateDict: StateDict, options: ExportOptions = {}): Model {
  const s = resolveSpec(spec);
  const { parameters, buffers } = listTensors(s);
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const t of [...parameters, ...buffers]) {
    const have = stateDict.get(t.name);
    if (!have) missing.push(`${t.name} ${formatShape(t.shape)}`);
    else if (!sameShape(have.dims, t.shape)) misshaped.push(`${t.name} ${formatShape(have.dims)}, expected ${formatShape(t.shape)}`);
  }
  if (missing.length || misshaped.length) throw new WeightsMismatchError('export', missing, [], misshaped, s);

  const g = new GraphBuilder(`${s.arch}_${s.encoder}`);
  const image = g.input('image', 'float32', ['N', s.inChannels, 'H', 'W']);
  const heatmaps = buildNetwork(new InferenceLayers(g, stateDict), s, image);
  g.output(heatmaps, 'heatmaps', 'float32', ['N', s.classes, 'H', 'W']);
  return g.build({ ...specMetadata(s), ...options.metadata });
}

/** Exports and writes the `.onnx` file atomically. */
export async function exportModelFile(path: string, spec: ModelSpec, stateDict: StateDict, options: ExportOptions = {}): Promise<void> {
  await saveModel(exportModel(spec, stateDict, options), path);
}
