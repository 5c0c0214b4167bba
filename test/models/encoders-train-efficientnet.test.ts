import { shortRun } from './table1-training';

describe('Table 1 cells train (EfficientNet-B7, width 1/8, 32x32)', () => {
  for (const arch of ['unet', 'unetplusplus', 'deeplabv3'] as const) {
    test(`${arch}/efficientnet-b7: the loss goes down`, async () => {
      const losses = await shortRun({ arch, encoder: 'efficientnet-b7' }, 8);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Math.min(...losses.slice(-2))).toBeLessThan(0.8 * losses[0]);
    }, 60_000);
  }
});
