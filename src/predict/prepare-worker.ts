/** A preparation thread (see pool.ts): decodes and preprocesses images, replying with arrays transferred. */
import { setPriority } from 'os';
import { parentPort, workerData } from 'worker_threads';
import { prepareTimed, PrepareTaskOptions } from './prepare';
import type { PrepareReply, PrepareRequest } from './pool';

const PREPARATION_NICE = 10;

const options = workerData as PrepareTaskOptions;
const port = parentPort!;

// Preparation must yield to the session, which is the bottleneck it hides behind. On Linux the nice
// value belongs to the thread (setpriority(2), NPTL), so this lowers this thread alone.
if (process.platform === 'linux') {
  try {
    setPriority(0, PREPARATION_NICE);
  } catch {
    // Not permitted here: run at the normal priority.
  }
}

// One image at a time, in order: a worker never holds two decoded images at once.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: PrepareRequest) => {
  queue = queue.then(async () => {
    try {
      const result = await prepareTimed(request.source, options);
      // The finer decode of a refined model may be the grid's own (a small image): each buffer once.
      const transfer = [...new Set([result.input, result.reduced.data, result.detail?.data, result.preview?.data].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer))];
      const reply: PrepareReply = { id: request.id, ok: true, result };
      port.postMessage(reply, transfer);
    } catch (err) {
      const reply: PrepareReply = { id: request.id, ok: false, message: (err as Error).message };
      port.postMessage(reply);
    }
  });
});
