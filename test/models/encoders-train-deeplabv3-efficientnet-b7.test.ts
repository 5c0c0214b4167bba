import { shortRun } from './table1-training';

// One Table 1 cell per file: a deep training graph (13k-30k nodes) takes most of its time in
// onnxruntime's session creation, so jest workers spread the cells.
test('deeplabv3/efficientnet-b7 trains at width 1/8 on 32x32: the loss goes down', async () => {
  const losses = await shortRun({ arch: 'deeplabv3', encoder: 'efficientnet-b7' }, 6);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(Math.min(...losses.slice(-2))).toBeLessThan(0.8 * losses[0]);
}, 300_000);
