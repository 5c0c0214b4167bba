/**
 * Image preparation (decode, resize, normalise) on worker threads, so that it overlaps the session run
 * on the main thread. ONNX Runtime's run in Node holds the main thread for its whole duration; the
 * workers keep preparing the requests queued before it started.
 */
import { Worker } from 'worker_threads';
import { workerScript } from '../util/worker-script';
import { prepareTimed, PrepareTaskOptions, TimedPreparedImage } from './prepare';

export interface PrepareRequest {
  id: number;
  source: string | Uint8Array;
}

export type PrepareReply =
  | { id: number; ok: true; result: TimedPreparedImage }
  | { id: number; ok: false; message: string };

interface Task {
  name: string;
  resolve: (r: TimedPreparedImage) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  tasks: Map<number, Task>;
}

const BUFFER_NAME = '<buffer>: ';

/** An error message that names the input: io errors name a path themselves, a buffer as '<buffer>', which the name replaces. */
function naming(name: string, message: string): Error {
  if (message.startsWith(name)) return new Error(message);
  return new Error(`${name}: ${message.startsWith(BUFFER_NAME) ? message.slice(BUFFER_NAME.length) : message}`);
}


/** Prepares images on `workers` threads (0: on the calling thread). */
export class PreparePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: PrepareTaskOptions, readonly workers: number) {
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a whole number >= 0, got ${workers}`);
    for (let w = 0; w < workers; w++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const entry = workerScript(__dirname, 'prepare-worker', __filename);
    const worker = new Worker(entry.script, { eval: entry.eval, workerData: this.options });
    const slot: Slot = { worker, tasks: new Map() };
    worker.on('message', (reply: PrepareReply) => {
      const task = slot.tasks.get(reply.id);
      if (!task) return;
      slot.tasks.delete(reply.id);
      if (slot.tasks.size === 0) worker.unref();
      if (reply.ok) task.resolve(reply.result);
      else task.reject(naming(task.name, reply.message));
    });
    // A worker that dies (an out-of-memory abort in a decoder, say) fails only its own images; a new one takes its place.
    const lost = (why: string) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      for (const task of slot.tasks.values()) task.reject(naming(task.name, `the preparation thread failed: ${why}`));
      slot.tasks.clear();
      if (this.closed) this.slots.splice(index, 1);
      else this.slots[index] = this.spawn();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exited with status ${code}`));
    // Idle workers must not keep the process alive.
    worker.unref();
    return slot;
  }

  /** Decodes and preprocesses one image; `name` labels errors for a buffer source (a path names itself). */
  prepare(source: string | Uint8Array, name = typeof source === 'string' ? source : '<buffer>'): Promise<TimedPreparedImage> {
    if (this.closed) return Promise.reject(new Error('the preparation pool is closed'));
    if (this.slots.length === 0) return prepareTimed(source, this.options).catch((err: Error) => Promise.reject(naming(name, err.message)));
    // The least busy worker, so that one slow image does not hold up the images queued behind it.
    const slot = this.slots.reduce((a, b) => (b.tasks.size < a.tasks.size ? b : a));
    const id = this.nextId++;
    return new Promise<TimedPreparedImage>((resolve, reject) => {
      slot.tasks.set(id, { name, resolve, reject });
      slot.worker.ref();
      const request: PrepareRequest = { id, source };
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
