import { Predictor } from '../../src/infer';
import { PipelineInput, PreparePool, runPipeline, TimedPreparedImage } from '../../src/predict';
import { brightestSpotModel, dotImage } from './helpers';

/** Counts the preparations in flight at once (the memory the pipeline holds). */
class CountingPool extends PreparePool {
  inFlight = 0;
  maxInFlight = 0;
  override async prepare(source: string | Uint8Array, name?: string): Promise<TimedPreparedImage> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await super.prepare(source, name);
    } finally {
      this.inFlight--;
    }
  }
}

describe('runPipeline', () => {
  let predictor: Predictor;
  beforeAll(async () => {
    predictor = await Predictor.create({ model: brightestSpotModel(1, { height: 32, width: 32 }), threads: 1 });
  });
  afterAll(async () => predictor.release());

  test('streams many inputs with a bounded look-ahead, in input order, failures in place', async () => {
    const good = new Uint8Array(await dotImage(40, 40, 10, 30));
    const bad = new Uint8Array(Buffer.from('not an image'));
    const count = 600;
    let pulled = 0;
    let maxAhead = 0;
    const seen: number[] = [];
    function* inputs(): Generator<PipelineInput<number>> {
      for (let i = 0; i < count; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - seen.length);
        yield { source: i % 7 === 3 ? bad : good, name: `input ${i}`, tag: i };
      }
    }
    const pool = new CountingPool({ grid: predictor.grid, inChannels: predictor.inChannels }, 0);
    const errors: string[] = [];
    await runPipeline(predictor, pool, inputs(), {
      onResult: (r) => {
        seen.push(r.tag);
        expect(r.prediction.landmarks[0][0]).toBeCloseTo(10, 0);
        expect(r.times.inferMs).toBeGreaterThan(0);
      },
      onError: (tag, err) => {
        seen.push(tag);
        errors.push(err.message);
      },
    }, { batch: 3 });
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(errors).toHaveLength(Math.ceil((count - 3) / 7));
    expect(errors[0]).toMatch(/^input 3: /);
    // Bounded whatever the input count: a queue of twice the batch plus the head being awaited, and
    // at most one batch beyond that prepared but not yet reported.
    expect(pool.maxInFlight).toBeLessThanOrEqual(2 * 3 + 1);
    expect(maxAhead).toBeLessThanOrEqual(3 * 3 + 1);
  });

  test('an abort stops taking inputs; those in flight are finished', async () => {
    const good = new Uint8Array(await dotImage(40, 40, 20, 20));
    const controller = new AbortController();
    const pool = new PreparePool({ grid: predictor.grid, inChannels: predictor.inChannels }, 0);
    const done: number[] = [];
    const inputs = Array.from({ length: 50 }, (_, i): PipelineInput<number> => ({ source: good, tag: i }));
    await runPipeline(predictor, pool, inputs, {
      onResult: (r) => {
        done.push(r.tag);
        if (r.tag === 4) controller.abort();
      },
      onError: (_tag, err) => { throw err; },
    }, { signal: controller.signal });
    expect(done.length).toBeGreaterThan(4);
    expect(done.length).toBeLessThan(10);
    expect(done).toEqual(Array.from({ length: done.length }, (_, i) => i));
  });
});
