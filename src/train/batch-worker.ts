/** A batch-assembly thread (see batches.ts): answers each request with a batch, its arrays transferred. */
import { parentPort, workerData } from 'worker_threads';
import { assembleBatch, WorkerInit, WorkerReply, WorkerRequest } from './batches';
import { sampleCache } from './samples';

const init = workerData as WorkerInit;
const cache = sampleCache();
const port = parentPort!;

// Requests are served one at a time, in order, so a worker never holds two batches' images at once.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      const batch = await assembleBatch(init.items, init.config, request.samples, cache);
      reply = { id: request.id, ok: true, batch };
      // Moved, not copied: the arrays are fresh and used by no one else here.
      const buffers = [batch.images, batch.targets, ...batch.gridLandmarks].map((a) => a.buffer as ArrayBuffer);
      port.postMessage(reply, buffers);
    } catch (err) {
      reply = { id: request.id, ok: false, message: (err as Error).message };
      port.postMessage(reply);
    }
  });
});
