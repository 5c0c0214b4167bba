import { buildNetwork, initStateDict, ModelSpec } from '../../src/models';
import { TrainStep } from '../../src/train/step';

/**
 * A short training run of a Table 1 cell at a tiny width on one fixed batch (a smooth image, one Gaussian
 * heatmap per landmark): returns the loss of every step. Dropout and stochastic depth are active.
 */
export async function shortRun(cell: Pick<ModelSpec, 'arch' | 'encoder'>, steps: number): Promise<number[]> {
  const spec: ModelSpec = { ...cell, classes: 2, inChannels: 1, widthMultiplier: 0.125 };
  const [batch, height, width] = [2, 32, 32];
  const step = await TrainStep.create({
    batch, inChannels: 1, height, width, classes: 2, loss: 'mse',
    network: (layers, images) => buildNetwork(layers, spec, images),
  }, initStateDict(spec, 3), { threads: 1, graphOptimizationLevel: 'basic' });
  try {
    const images = Float32Array.from({ length: batch * height * width }, (_, i) => Math.sin(i * 0.05) + Math.cos(i * 0.013));
    const targets = new Float32Array(batch * 2 * height * width);
    for (let m = 0; m < batch * 2; m++) {
      const [cx, cy] = [6 + 7 * m, 20 - 3 * m];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) targets[(m * height + y) * width + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8);
      }
    }
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push(await step.run(images, targets, 3e-3));
    return losses;
  } finally {
    await step.release();
  }
}
