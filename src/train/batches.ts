/**
 * Batch assembly on worker threads. ONNX Runtime's session run keeps the main thread busy for the
 * whole step, so images are read, resized, augmented, normalised and their target heatmaps rendered
 * by workers that work on the next batches meanwhile. Every sample is a pure function of (item,
 * augmentation seed), so batches are the same whichever worker makes them, and with none.
 */
import { Worker } from 'worker_threads';
import { workerScript } from '../util/worker-script';
import type { LandmarkItem } from '../data/types';
import { prepareCropSample } from './crop-samples';
import { prepareSample, SampleCache, sampleCache, SampleConfig } from './samples';

export interface Batch {
  /** [n, inChannels, paddedHeight, paddedWidth], ImageNet-normalised, zero-padded bottom/right. */
  images: Float32Array;
  /** [n, classes, paddedHeight, paddedWidth], zero outside the grid. */
  targets: Float32Array;
  /** Landmarks in grid pixels per sample ([x, y] per landmark), after augmentation. */
  gridLandmarks: Float32Array[];
}

/** One sample of a batch: which item (and for the refinement stage which landmark's crop), and the seed of its augmentation (null: none). */
export interface SampleRequest {
  item: number;
  landmark?: number;
  augmentSeed: number | null;
}

export interface WorkerInit {
  items: LandmarkItem[];
  config: SampleConfig;
}

export interface WorkerRequest {
  id: number;
  samples: SampleRequest[];
}

export type WorkerReply =
  | { id: number; ok: true; batch: Batch }
  | { id: number; ok: false; message: string };

/** Assembles a batch from prepared samples (shared by the workers and the in-process path). */
export async function assembleBatch(items: LandmarkItem[], config: SampleConfig, samples: SampleRequest[], cache: SampleCache): Promise<Batch> {
  const { padded, classes, inChannels } = config;
  const plane = padded.height * padded.width;
  const images = new Float32Array(samples.length * inChannels * plane);
  const targets = new Float32Array(samples.length * classes * plane);
  const gridLandmarks: Float32Array[] = [];
  for (let k = 0; k < samples.length; k++) {
    const { item, landmark, augmentSeed } = samples[k];
    const s = config.refine
      ? await prepareCropSample(items[item], landmark ?? 0, config, config.refine, augmentSeed, cache.crops)
      : await prepareSample(items[item], config, augmentSeed, cache);
    images.set(s.image, k * inChannels * plane);
    targets.set(s.target, k * classes * plane);
    gridLandmarks.push(s.gridLandmarks);
  }
  return { images, targets, gridLandmarks };
}

interface Pending {
  resolve: (b: Batch) => void;
  reject: (e: Error) => void;
}

/** Makes batches on `workers` threads (0: on the calling thread). */
export class BatchMaker {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly cache: SampleCache = sampleCache();
  private nextId = 0;
  private nextWorker = 0;
  private failure: Error | undefined;
  private closing = false;

  constructor(private readonly items: LandmarkItem[], private readonly config: SampleConfig, workers: number) {
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`batch workers must be a whole number >= 0, got ${workers}`);
    const entry = workerScript(__dirname, 'batch-worker', __filename);
    const init: WorkerInit = { items, config };
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(entry.script, { eval: entry.eval, workerData: init });
      worker.on('message', (reply: WorkerReply) => this.settle(reply));
      worker.on('error', (err) => this.fail(new Error(`batch worker failed: ${err.message}`)));
      // terminate() in close() ends a worker with status 1: that is not a failure.
      worker.on('exit', (code) => { if (code !== 0 && !this.closing) this.fail(new Error(`batch worker exited with status ${code}`)); });
      // Idle workers must not keep the process alive (a finished or interrupted run exits).
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** The batch for these samples, in their order. */
  make(samples: SampleRequest[]): Promise<Batch> {
    if (this.failure) return Promise.reject(this.failure);
    const batch = this.workers.length === 0 ? assembleBatch(this.items, this.config, samples, this.cache) : this.request(samples);
    // Batches are asked for ahead; when a run stops (diverged, time up) those still in flight are
    // dropped unawaited, and their rejection on close() must not end the process. Whoever awaits one
    // still gets its error.
    batch.catch(() => undefined);
    return batch;
  }

  private request(samples: SampleRequest[]): Promise<Batch> {
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker];
    this.nextWorker = (this.nextWorker + 1) % this.workers.length;
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, samples };
      worker.ref();
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
    this.fail(new Error('batch maker closed'));
  }

  private settle(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
    if (reply.ok) p.resolve(reply.batch);
    else p.reject(new Error(reply.message));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
