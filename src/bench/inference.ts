import { availableParallelism } from 'os';
import sharp from 'sharp';
import { ExecutionProvider, paddedSize, padBottomRight, Predictor } from '../infer';
import type { Grid } from '../data';
import { PipelineInput, PipelineResult, PreparePool, runPipeline, walkInputs } from '../predict';

export interface InferenceBenchOptions {
  model: string;
  /** Model grid; default the grid stored in the model. */
  grid?: Grid;
  /** A folder (or file) of real images, used in sorted order and cycled when there are fewer than needed. */
  input?: string;
  /** Synthetic x-ray-like JPEG of this size instead of --input (default 1935x2400, the ISBI head images). */
  syntheticSize?: { width: number; height: number };
  /** Timed session runs (each of `batch` images), end to end and session-only alike. */
  runs: number;
  /** Untimed runs first, through the whole pipeline (warms the session's arena and the worker threads). */
  warmup: number;
  batch?: number;
  executionProvider?: ExecutionProvider;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per physical core). */
  threads?: number;
  /** Preparation threads (default 1). */
  workers?: number;
  onWarning?: (message: string) => void;
}

export interface InferenceBenchResult {
  model: string;
  input: string;
  images: number;
  batch: number;
  height: number;
  width: number;
  /** Images per second end to end: read, decode, resize, infer, decode landmarks, with the stages overlapped. */
  throughput_img_s: number;
  /** Per image: the work of its own stages (decode, preprocess, its batch's run, its landmarks), queueing excluded. */
  latency_ms: { p50: number; p95: number; p99: number };
  /** Mean per image; `infer` is the batch's run divided by the batch size. */
  stages_ms: { decode: number; preprocess: number; infer: number; postprocess: number };
  /** Images per second of bare session runs on one prepared batch tensor. */
  session_only_img_s: number;
  /** throughput_img_s / session_only_img_s: 1 when reading and preprocessing are fully hidden. */
  end_to_end_ratio: number;
  execution_provider: ExecutionProvider;
  /** Intra-op threads asked of ONNX Runtime, given or chosen (null: its default). */
  threads: number | null;
  workers: number;
  cpus: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** A smooth, noisy grey image with bright blobs, JPEG-encoded: decodes like a radiograph of that size. */
export async function syntheticXray(width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 24;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 90 + 60 * Math.sin(x / 97) * Math.cos(y / 131) + 50 * Math.exp(-(((x - width / 2) ** 2) + ((y - height / 3) ** 2)) / (2 * (width / 6) ** 2));
      px[y * width + x] = Math.max(0, Math.min(255, Math.round(v + noise())));
    }
  }
  return sharp(px, { raw: { width, height, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
}

/** The first `count` image files under `input`, in walk order; an error names the input when there are none. */
async function listImages(input: string, count: number): Promise<string[]> {
  const files: string[] = [];
  let problem: Error | undefined;
  for await (const file of walkInputs([input], (_path, err) => (problem ??= err))) {
    files.push(file);
    if (files.length >= count) break;
  }
  if (problem) throw problem;
  if (files.length === 0) throw new Error(`${input}: no image files found`);
  return files;
}

/**
 * End-to-end throughput and latency of the prediction pipeline (the one `lmk predict` runs: workers
 * prepare, the main thread runs batches), then bare session runs on one prepared tensor with the same
 * session, so both use the same model and threads (a refined model's: with one run of its crops per image).
 */
export async function benchInference(o: InferenceBenchOptions): Promise<InferenceBenchResult> {
  const batch = o.batch ?? 1;
  const workers = o.workers ?? 1;
  for (const [name, v, min] of [['runs', o.runs, 1], ['warmup', o.warmup, 0], ['batch', batch, 1], ['workers', workers, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be a whole number >= ${min}, got ${v}`);
  }
  if (o.input !== undefined && o.syntheticSize) throw new Error('give an input folder or a synthetic size, not both');
  // Threads as lmk predict chooses them where none are given (a light model leaves the workers their cores).
  const predictor = await Predictor.create({ model: o.model, grid: o.grid, executionProvider: o.executionProvider, threads: o.threads, preparationWorkers: workers, onWarning: o.onWarning });
  const pool = new PreparePool(predictor.prepareOptions, workers);
  try {
    const timedImages = o.runs * batch;
    const warmImages = o.warmup * batch;
    let sources: { source: string | Uint8Array; name: string }[];
    let inputLabel: string;
    if (o.input !== undefined) {
      const files = await listImages(o.input, warmImages + timedImages);
      sources = files.map((f) => ({ source: f, name: f }));
      inputLabel = `${o.input} (${files.length} file${files.length === 1 ? '' : 's'})`;
    } else {
      const size = o.syntheticSize ?? { width: 1935, height: 2400 };
      const jpeg = await syntheticXray(size.width, size.height);
      sources = [{ source: new Uint8Array(jpeg), name: 'synthetic' }];
      inputLabel = `synthetic ${size.width}x${size.height} JPEG`;
    }
    const inputs = function* (start: number, count: number): Generator<PipelineInput<number>> {
      for (let i = 0; i < count; i++) {
        const s = sources[(start + i) % sources.length];
        yield { source: s.source, name: s.name, tag: i };
      }
    };
    const fail = (_tag: number, err: Error) => {
      throw err;
    };

    if (warmImages > 0) await runPipeline(predictor, pool, inputs(0, warmImages), { onResult: () => undefined, onError: fail }, { batch });

    // Session only: the same session on one prepared batch, padded as the Predictor pads it.
    const first = await pool.prepare(sources[0].source, sources[0].name);
    const { height: h, width: w } = predictor.grid;
    const c = predictor.inChannels;
    const one = new Float32Array(batch * c * h * w);
    for (let i = 0; i < batch; i++) one.set(first.input, i * c * h * w);
    const tensor = padBottomRight(one, batch, c, h, w, paddedSize(h), paddedSize(w));
    // A refined model's network work per image is its first stage and, per refinement, one run of a crop per landmark.
    const crops = predictor.refinementCrops.map((crop) => new Float32Array(predictor.classes * c * crop * crop));
    const sessionRuns = async (count: number): Promise<number> => {
      const t = performance.now();
      for (let r = 0; r < count; r++) {
        await predictor.run(tensor, batch, paddedSize(h), paddedSize(w));
        for (let i = 0; i < batch; i++) for (const [stage, cropTensor] of crops.entries()) await predictor.runCrops(cropTensor, predictor.classes, stage);
      }
      return (performance.now() - t) / 1000;
    };

    // Half the session-only runs before the end-to-end runs and half after, so that a machine whose
    // load drifts during the benchmark weighs on both figures alike.
    let sessionSeconds = await sessionRuns(Math.ceil(o.runs / 2));
    const results: PipelineResult<number>[] = [];
    const t0 = performance.now();
    await runPipeline(predictor, pool, inputs(warmImages, timedImages), { onResult: (r) => void results.push(r), onError: fail }, { batch });
    const endToEndSeconds = (performance.now() - t0) / 1000;
    sessionSeconds += await sessionRuns(Math.floor(o.runs / 2));

    const latencies = results.map((r) => r.times.decodeMs + r.times.preprocessMs + r.batchInferMs + r.times.postprocessMs).sort((a, b) => a - b);
    const throughput = results.length / endToEndSeconds;
    const sessionOnly = (o.runs * batch) / sessionSeconds;
    return {
      model: o.model,
      input: inputLabel,
      images: results.length,
      batch,
      height: h,
      width: w,
      throughput_img_s: throughput,
      latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
      stages_ms: {
        decode: mean(results.map((r) => r.times.decodeMs)),
        preprocess: mean(results.map((r) => r.times.preprocessMs)),
        infer: mean(results.map((r) => r.times.inferMs)),
        postprocess: mean(results.map((r) => r.times.postprocessMs)),
      },
      session_only_img_s: sessionOnly,
      end_to_end_ratio: throughput / sessionOnly,
      execution_provider: predictor.executionProvider,
      threads: predictor.threads ?? null,
      workers,
      cpus: availableParallelism(),
    };
  } finally {
    await pool.close();
    await predictor.release();
  }
}

/** The readable table `lmk-bench` prints without --json. */
export function formatInferenceBench(r: InferenceBenchResult): string {
  const f = (v: number, d = 1) => v.toFixed(d);
  const rows: [string, string][] = [
    ['model', r.model],
    ['input', r.input],
    ['grid (h x w)', `${r.height} x ${r.width}, batch ${r.batch}`],
    ['execution provider', `${r.execution_provider}, ${r.threads ?? 'default'} intra-op threads, ${r.workers} preparation workers, ${r.cpus} CPUs`],
    ['images', String(r.images)],
    ['end to end', `${f(r.throughput_img_s, 3)} img/s`],
    ['session only', `${f(r.session_only_img_s, 3)} img/s`],
    ['end to end / session', f(r.end_to_end_ratio, 3)],
    ['latency p50/p95/p99', `${f(r.latency_ms.p50)} / ${f(r.latency_ms.p95)} / ${f(r.latency_ms.p99)} ms`],
    ['stages (mean per image)', `decode ${f(r.stages_ms.decode)} ms, preprocess ${f(r.stages_ms.preprocess)} ms, infer ${f(r.stages_ms.infer)} ms, postprocess ${f(r.stages_ms.postprocess)} ms`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
