import type { Predictor, Prediction } from '../infer';
import type { PreparePool } from './pool';
import type { GreyPreview, TimedPreparedImage } from './prepare';

/** One input of the pipeline: what to read, and what the caller wants back with its result. */
export interface PipelineInput<T> {
  source: string | Uint8Array;
  /** Names the input in error messages (default: the path, or '<buffer>'). */
  name?: string;
  tag: T;
}

/** Milliseconds of work per stage for one image; `inferMs` is its share of its batch's session run. */
export interface StageTimes {
  decodeMs: number;
  preprocessMs: number;
  inferMs: number;
  postprocessMs: number;
}

export interface PipelineResult<T> {
  tag: T;
  prediction: Prediction;
  preview?: GreyPreview;
  times: StageTimes;
  /** The session run of this image's batch (the batch's latency through the network). */
  batchInferMs: number;
}

export interface PipelineHandlers<T> {
  onResult: (r: PipelineResult<T>) => void | Promise<void>;
  onError: (tag: T, err: Error) => void | Promise<void>;
}

export interface PipelineOptions {
  /** Images per session run (default 1). */
  batch?: number;
  /** Stop taking new inputs (those in flight are finished). */
  signal?: AbortSignal;
}

type Settled = { ok: true; value: TimedPreparedImage } | { ok: false; error: Error };

interface InFlight<T> {
  tag: T;
  name: string;
  settled: Promise<Settled>;
}

/**
 * Streams inputs through read -> preprocess (pool) -> network (batched) -> landmarks, in input order.
 * Preparation runs ahead of the session by a bounded number of images (twice the batch, and at least
 * one per worker beyond it), so memory stays bounded whatever the number of inputs, and the next batch
 * is being prepared while the current one runs. A failed input goes to `onError`; the rest go on.
 */
export async function runPipeline<T>(
  predictor: Predictor,
  pool: PreparePool,
  inputs: AsyncIterable<PipelineInput<T>> | Iterable<PipelineInput<T>>,
  handlers: PipelineHandlers<T>,
  options: PipelineOptions = {},
): Promise<void> {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
  const ahead = Math.max(2 * batch, batch + pool.workers);
  const iterator = Symbol.asyncIterator in inputs ? inputs[Symbol.asyncIterator]() : (inputs as Iterable<PipelineInput<T>>)[Symbol.iterator]();
  const queue: InFlight<T>[] = [];
  let exhausted = false;

  const topUp = async (): Promise<void> => {
    while (!exhausted && queue.length < ahead) {
      if (options.signal?.aborted) {
        exhausted = true;
        break;
      }
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      const { source, name, tag } = next.value;
      const settled = pool.prepare(source, name).then(
        (value): Settled => ({ ok: true, value }),
        (error: Error): Settled => ({ ok: false, error }),
      );
      queue.push({ tag, name: name ?? (typeof source === 'string' ? source : '<buffer>'), settled });
    }
  };

  await topUp();
  while (queue.length > 0) {
    const ready: { tag: T; name: string; prepared: TimedPreparedImage }[] = [];
    while (ready.length < batch && queue.length > 0) {
      const head = queue.shift()!;
      // Queue the replacement before waiting, so the workers never run dry while the session runs.
      await topUp();
      const s = await head.settled;
      if (s.ok) ready.push({ tag: head.tag, name: head.name, prepared: s.value });
      else await handlers.onError(head.tag, s.error);
    }
    if (ready.length === 0) continue;
    const t0 = performance.now();
    let maps: Float32Array[];
    try {
      maps = await predictor.heatmaps(ready.map((r) => r.prepared.input));
    } catch (err) {
      // A session failure is not the images' fault, and the next batch would fail alike: stop.
      throw new Error(`the network failed on a batch starting with ${ready[0].name}: ${(err as Error).message}`);
    }
    const batchInferMs = performance.now() - t0;
    for (let i = 0; i < ready.length; i++) {
      const { tag, prepared } = ready[i];
      const t1 = performance.now();
      const prediction = await predictor.landmarks(maps[i], prepared);
      const postprocessMs = performance.now() - t1;
      await handlers.onResult({
        tag,
        prediction,
        preview: prepared.preview,
        batchInferMs,
        times: { decodeMs: prepared.decodeMs, preprocessMs: prepared.preprocessMs, inferMs: batchInferMs / ready.length, postprocessMs },
      });
    }
  }
}
