import { availableParallelism } from 'os';
import { countMacs } from '../models/macs';
import { specFromMetadata } from '../models/spec';
import { refinementSpecs } from '../refine/stages';
import { paddedSize } from './padding';

/**
 * Below this many multiply-accumulates per image, a session run takes about as long as reading and resizing
 * the image: the CPU recipe's head model (U-Net/VGG19 at width 1/4, 256x224) is 1.7 GMAC and ran 27.5 img/s
 * end to end with one session thread beside one preparation worker against 24.1 img/s with two session
 * threads on 2 cores; the paper's U-Net++/VGG19 at 512x416 (319 GMAC) ran 0.48 img/s with two threads and
 * 0.25 with one (lmk-bench on ISBI Test1, README "Benchmarks").
 */
export const LIGHT_MODEL_MACS = 10e9;

/**
 * Session threads on the CPU when none are given and `workers` threads prepare images beside the session:
 * a light model leaves the workers their cores (cores - workers, at least 1); any other takes ONNX
 * Runtime's default (all physical cores), as the session is then nearly all the work. A refined model's
 * count holds its crops. Undefined: that default.
 */
export function defaultSessionThreads(metadata: Record<string, string>, grid: { height: number; width: number }, workers: number, cores = availableParallelism()): number | undefined {
  const spec = specFromMetadata(metadata);
  if (!spec || workers < 1) return undefined;
  let macs: number;
  try {
    macs = countMacs(spec, paddedSize(grid.height), paddedSize(grid.width));
    // A refined model also runs one crop per landmark and refinement.
    for (const r of refinementSpecs(metadata, 'model')) macs += spec.classes * countMacs(r.spec, r.crop, r.crop);
  } catch {
    return undefined;
  }
  return macs < LIGHT_MODEL_MACS ? Math.max(1, cores - workers) : undefined;
}
