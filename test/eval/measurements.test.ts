import { loadDataset } from '../../src/data';
import { constantPredictions, evaluateMeasurements, meanShape, measurementsToText } from '../../src/eval';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { join } from 'path';

describeWithSharedData('cephalometric measurements against the ground truth (ISBI 2015 task 2)', () => {
  it('the ground truth scores 0 and 100 %; the mean shape does much worse; the table names both', async () => {
    const root = join(SHARED_DATA!, 'isbi2015');
    const test = (await loadDataset({ format: 'isbi2015', root, split: 'test' })).items.slice(0, 30);
    const train = (await loadDataset({ format: 'isbi2015', root, split: 'train' })).items;
    const truth = evaluateMeasurements(test, new Map(test.map((i) => [i.id, i.landmarks])));
    for (const row of truth) {
      expect(row.mad).toBe(0);
      expect(row.success).toBe(100);
      expect(row.n_images).toBe(30);
    }
    expect(truth.find((r) => r.name === 'MW')!.unit).toBe('mm');
    const baseline = evaluateMeasurements(test, constantPredictions(test, meanShape(train)));
    // The mean shape has one ANB for every image: only the images of its class agree.
    expect(baseline.find((r) => r.name === 'ANB')!.success!).toBeLessThan(70);
    expect(baseline.every((r) => r.mad > 0)).toBe(true);
    const text = measurementsToText(truth, baseline);
    expect(text).toMatch(/^cephalometric measurements \(ISBI 2015 task 2, against the ground truth's, 30 images\):/);
    expect(text).toMatch(/\nANB +0\.00 deg +100\.00% +[\d.]+ deg +[\d.]+%\n/);
  });
});
