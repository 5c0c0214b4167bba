import { compileTrainStep } from '../../src/train/step-graph';
import { TrainStep } from '../../src/train/step';
import { rng } from './fd';
import { formulaWeights, tinyNet } from './tiny-net';

const S = 32;

/** An image with a cross-shaped marker at a random landmark, a distractor and noise, and its Gaussian target. */
function sample(r: () => number): { image: Float32Array; target: Float32Array; x: number; y: number } {
  const x = 4 + Math.floor(r() * (S - 8));
  const y = 4 + Math.floor(r() * (S - 8));
  const image = new Float32Array(3 * S * S);
  const target = new Float32Array(S * S);
  for (let row = 0; row < S; row++) {
    for (let col = 0; col < S; col++) {
      const onCross = (Math.abs(row - y) <= 2 && col === x) || (Math.abs(col - x) <= 2 && row === y);
      // A dark cross on a bright background, with a brighter distractor square in the mirrored position.
      const onSquare = Math.abs(row - (S - 1 - y)) <= 1 && Math.abs(col - (S - 1 - x)) <= 1;
      const v = (onCross ? -1 : onSquare ? 2 : 1) + 0.3 * (r() - 0.5);
      for (let ch = 0; ch < 3; ch++) image[ch * S * S + row * S + col] = v;
      target[row * S + col] = Math.exp(-((col - x) ** 2 + (row - y) ** 2) / 8);
    }
  }
  return { image, target, x, y };
}

const argmax = (h: Float32Array): [number, number] => {
  let best = 0;
  for (let i = 1; i < h.length; i++) if (h[i] > h[best]) best = i;
  return [best % S, Math.floor(best / S)];
};

describe('training', () => {
  test('Adam steps on a small synthetic set drive the loss and the landmark error down', async () => {
    const options = { batch: 2, inChannels: 3, height: S, width: S, classes: 1, network: tinyNet(1) };
    const step = await TrainStep.create(options, formulaWeights(compileTrainStep(options).params), { threads: 1 });
    const r = rng(42);
    const train = Array.from({ length: 16 }, () => sample(r));
    // Held-out pairs, scored in eval mode (running statistics) by argmax of the heatmap.
    const held = Array.from({ length: 8 }, () => sample(r));
    const evaluate = async (): Promise<{ loss: number; error: number }> => {
      let loss = 0;
      let error = 0;
      for (let i = 0; i < held.length; i += 2) {
        const pair = held.slice(i, i + 2);
        const images = new Float32Array(pair.length * 3 * S * S);
        const targets = new Float32Array(pair.length * S * S);
        pair.forEach((s, k) => { images.set(s.image, k * 3 * S * S); targets.set(s.target, k * S * S); });
        const { loss: l, prediction: heat } = await step.evaluate(images, targets);
        loss += l;
        pair.forEach((s, k) => {
          const [px, py] = argmax(heat.subarray(k * S * S, (k + 1) * S * S));
          error += Math.hypot(px - s.x, py - s.y);
        });
      }
      return { loss: loss / (held.length / 2), error: error / held.length };
    };
    try {
      const before = await evaluate();
      for (let epoch = 0; epoch < 8; epoch++) {
        for (let i = 0; i < train.length; i += 2) {
          const images = new Float32Array(2 * 3 * S * S);
          const targets = new Float32Array(2 * S * S);
          [train[i], train[i + 1]].forEach((s, k) => { images.set(s.image, k * 3 * S * S); targets.set(s.target, k * S * S); });
          await step.run(images, targets, 1e-2);
        }
      }
      const after = await evaluate();
      if (process.env.LMK_PRINT_PARITY) console.log(JSON.stringify({ before, after }));
      expect(after.loss).toBeLessThan(before.loss / 3);
      expect(before.error).toBeGreaterThan(4);
      expect(after.error).toBeLessThan(1.5);
    } finally {
      await step.release();
    }
  });
});
