import { shortRun } from './table1-training';

describe('Table 1 cells train (ResNeXt101-32x8d, width 1/8, 32x32)', () => {
  for (const arch of ['unet', 'unetplusplus', 'deeplabv3'] as const) {
    test(`${arch}/resnext101_32x8d: the loss goes down`, async () => {
      const losses = await shortRun({ arch, encoder: 'resnext101_32x8d' }, 8);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Math.min(...losses.slice(-2))).toBeLessThan(0.8 * losses[0]);
    }, 60_000);
  }
});
