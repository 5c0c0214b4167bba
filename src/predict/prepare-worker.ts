/** A preparation thread (see pool.ts): decodes and preprocesses images, replying with arrays transferred. */
import { parentPort, workerData } from 'worker_threads';
import { prepareTimed, PrepareTaskOptions } from './prepare';
import type { PrepareReply, PrepareRequest } from './pool';

const options = workerData as PrepareTaskOptions;
const port = parentPort!;

// One image at a time, in order: a worker never holds two decoded images at once.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: PrepareRequest) => {
  queue = queue.then(async () => {
    try {
      const result = await prepareTimed(request.source, options);
      const transfer = [result.input.buffer as ArrayBuffer];
      if (result.preview) transfer.push(result.preview.data.buffer as ArrayBuffer);
      const reply: PrepareReply = { id: request.id, ok: true, result };
      port.postMessage(reply, transfer);
    } catch (err) {
      const reply: PrepareReply = { id: request.id, ok: false, message: (err as Error).message };
      port.postMessage(reply);
    }
  });
});
