import { parseModel, serializeModel } from '../../src/onnx';
import { blockNames, compileTrainBlock, compileTrainStep, LossName } from '../../src/train/step-graph';
import { TensorDict, TrainStep } from '../../src/train/step';
import { formulaBatch, formulaWeights, tinyNet } from './tiny-net';
import { cudaProviderProblem } from '../../src/infer';

const B = 2, K = 2, H = 16, W = 16;
const options = (loss: LossName) => ({ batch: B, inChannels: 3, height: H, width: W, classes: K, loss, network: tinyNet(K) });

async function tinyStep(loss: LossName, stepsPerRun: number): Promise<TrainStep> {
  const params = compileTrainStep(options(loss)).params;
  return TrainStep.create(options(loss), formulaWeights(params), { threads: 1, stepsPerRun });
}

const batches = (from: number, count: number) => Array.from({ length: count }, (_, i) => formulaBatch(from + i, B, K, H, W));
const lrAt = (s: number): number => 1e-2 * (1 - s / 20);

/** The losses of 10 steps taken one per run by `single` and in blocks of 4, 4 and 2 by `blocked`, on the same batches. */
async function tenStepsBothWays(single: TrainStep, blocked: TrainStep): Promise<{ one: number[]; many: number[] }> {
  const one: number[] = [];
  for (const [s, b] of batches(0, 10).entries()) one.push(await single.run(b.images, b.targets, lrAt(s)));
  const many: number[] = [];
  for (const [from, count] of [[0, 4], [4, 4], [8, 2]]) {
    const part = batches(from, count);
    many.push(...await blocked.runBlock(part.map((b) => b.images), part.map((b) => b.targets), part.map((_, i) => lrAt(from + i))));
  }
  return { one, many };
}

/** Largest relative difference between two state dicts' tensors (relative to each tensor's largest value). */
function stateDifference(a: TensorDict, b: TensorDict): number {
  let worst = 0;
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    const scale = Math.max(1e-12, ...Array.from(t.data, Math.abs));
    t.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - u[i]) / scale); });
  }
  return worst;
}

describe('several optimizer steps per ONNX Runtime run (ONNX Loop)', () => {
  test.each<LossName>(['mse', 'softmax_ce'])('%s: 10 steps in blocks of 4, 4, 2 give the losses and state of 10 single steps', async (loss) => {
    const single = await tinyStep(loss, 1);
    const blocked = await tinyStep(loss, 4);
    try {
      const { one, many } = await tenStepsBothWays(single, blocked);
      expect(blocked.step).toBe(10);
      // The same kernels on the same values: measured equal to the last bit on this CPU; float rounding allowed.
      many.forEach((l, s) => expect(Math.abs(l - one[s]) / Math.abs(one[s])).toBeLessThan(1e-6));
      expect(stateDifference(single.stateDict(), blocked.stateDict())).toBeLessThan(1e-6);
      const adamOne = single.optimizerState();
      const adamMany = blocked.optimizerState();
      expect(adamMany.step).toBe(adamOne.step);
      expect(stateDifference(adamOne.m, adamMany.m)).toBeLessThan(1e-6);
      expect(stateDifference(adamOne.v, adamMany.v)).toBeLessThan(1e-6);
    } finally {
      await single.release();
      await blocked.release();
    }
  });

  test('a non-finite loss ends the block, and the state is that of before its step', async () => {
    const reference = await tinyStep('mse', 1);
    const blocked = await tinyStep('mse', 4);
    try {
      const part = batches(0, 4);
      for (const [s, b] of part.slice(0, 2).entries()) await reference.run(b.images, b.targets, lrAt(s));
      const poisoned = part.map((b) => b.images);
      poisoned[2] = poisoned[2].map((v, i) => (i === 5 ? NaN : v));
      const losses = await blocked.runBlock(poisoned, part.map((b) => b.targets), part.map((_, i) => lrAt(i)));
      expect(losses).toHaveLength(3);
      expect(losses.slice(0, 2).every(Number.isFinite)).toBe(true);
      expect(losses[2]).toBeNaN();
      expect(blocked.step).toBe(2);
      expect(stateDifference(reference.stateDict(), blocked.stateDict())).toBeLessThan(1e-6);
      expect(stateDifference(reference.optimizerState().v, blocked.optimizerState().v)).toBeLessThan(1e-6);
      // A NaN in the first step leaves the state untouched.
      const before = blocked.stateDict();
      const first = await blocked.runBlock([poisoned[2]], [part[2].targets], [1e-2]);
      expect(first).toHaveLength(1);
      expect(blocked.step).toBe(2);
      expect(stateDifference(before, blocked.stateDict())).toBe(0);
    } finally {
      await reference.release();
      await blocked.release();
    }
  });

  test('the block graph is one Loop whose body is the step; it survives ONNX serialisation (graph attributes)', () => {
    const block = compileTrainBlock(options('mse')).model;
    const loops = block.graph.nodes.filter((n) => n.opType === 'Loop');
    expect(loops).toHaveLength(1);
    const body = loops[0].attributes.body;
    expect(body.type).toBe('graph');
    const step = compileTrainStep(options('mse')).model.graph;
    if (body.type === 'graph') expect(body.value.nodes.length).toBeGreaterThan(step.nodes.length);
    expect(block.graph.outputs.map((o) => o.name)).toContain(blockNames.losses);
    const bytes = serializeModel(block);
    expect(serializeModel(parseModel(bytes))).toEqual(bytes);
  });

  test('refuses more batches than steps per run, and mismatched lists', async () => {
    const blocked = await tinyStep('mse', 2);
    try {
      const part = batches(0, 3);
      await expect(blocked.runBlock(part.map((b) => b.images), part.map((b) => b.targets), [1, 1, 1])).rejects.toThrow('a block needs 1 to 2 batches with one target and one learning rate each, got 3, 3 and 3');
      await expect(blocked.runBlock([part[0].images], [part[0].targets], [1, 1])).rejects.toThrow('got 1, 1 and 2');
      await expect(TrainStep.create(options('mse'), new Map(), { stepsPerRun: 0 })).rejects.toThrow('steps per run must be a positive integer, got 0');
    } finally {
      await blocked.release();
    }
  });
});

/** Runs only where the CUDA provider loads (a GPU machine after `lmk setup cuda`); skipped elsewhere. */
(cudaProviderProblem() === undefined ? describe : describe.skip)('blocks on CUDA', () => {
  test('10 steps in blocks of 4, 4, 2 on the GPU give the losses of 10 single steps on the CPU', async () => {
    const params = compileTrainStep(options('softmax_ce')).params;
    const cpu = await TrainStep.create(options('softmax_ce'), formulaWeights(params), { threads: 1 });
    const gpu = await TrainStep.create(options('softmax_ce'), formulaWeights(params), { executionProvider: 'cuda', stepsPerRun: 4 });
    try {
      const { one, many } = await tenStepsBothWays(cpu, gpu);
      // As the single step on CUDA against PyTorch (test/train/step.test.ts): float32 kernels that sum in other orders.
      many.forEach((l, s) => expect(Math.abs(l - one[s]) / Math.abs(one[s])).toBeLessThan(1e-4));
    } finally {
      await cpu.release();
      await gpu.release();
    }
  });
});
