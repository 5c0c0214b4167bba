import {
  aggregateSummaries, aggregateToText, baselineWarning, constantPredictions, evaluateMeanShape, evaluatePredictions, EvaluationDataset, meanShape,
  parsePredictions, roundHalfEven, summaryToJson, summaryToText,
} from '../../src/eval';

const dataset: EvaluationDataset = {
  format: 'csv',
  grid: { height: 128, width: 128 },
  unit: 'mm',
  landmarkCount: 2,
  items: [
    { id: 'a', imagePath: '/x/a.png', landmarks: [[10, 10], [20, 20]], width: 100, height: 100, mmPerPixel: 0.5 },
    { id: 'b', imagePath: '/x/b.png', landmarks: [[30, 30], [40, 40]], width: 100, height: 100, mmPerPixel: 0.5 },
  ],
};

describe('predictions JSONL', () => {
  test('parses one object per line and names file:line in errors', () => {
    const p = parsePredictions('{"id": "a", "landmarks": [[1, 2], [3, 4]]}\n\n{"id": 7, "landmarks": [[5, 6], [7, 8]]}\n', 'p.jsonl');
    expect([...p.keys()]).toEqual(['a', '7']);
    expect(p.get('7')).toEqual([[5, 6], [7, 8]]);
    expect(() => parsePredictions('{"id": "a", "landmarks": [[1, 2]]}\n{"id": "a", "landmarks": [[1, 2]]}', 'p.jsonl')).toThrow("p.jsonl:2: a second prediction for id 'a'");
    expect(() => parsePredictions('{"id": "a", "landmarks": [[1, "x"]]}', 'p.jsonl')).toThrow('p.jsonl:1: landmark 1 is not [x, y]');
    expect(() => parsePredictions('nope', 'p.jsonl')).toThrow(/^p\.jsonl:1: not JSON/);
    expect(() => parsePredictions('\n', 'p.jsonl')).toThrow('p.jsonl: no predictions');
  });
});

describe('evaluation', () => {
  test('csv in mm uses each item spacing; SDR boundaries are inclusive', () => {
    const s = evaluatePredictions(dataset, new Map([['a', [[14, 10], [20, 16]]], ['b', [[30, 30], [40, 40]]]]), { thresholds: [1, 2, 3] });
    // a: 4 px x 0.5 = 2 mm on both landmarks; b: 0.
    expect(s.mre.value).toBe(1);
    expect(s.mre.std).toBe(1);
    expect(s.sdr).toEqual([{ threshold: 1, percent: 50 }, { threshold: 2, percent: 100 }, { threshold: 3, percent: 100 }]);
  });

  test('missing predictions, wrong landmark counts and unknown protocols are reported clearly', () => {
    expect(() => evaluatePredictions(dataset, new Map([['a', [[1, 1], [2, 2]]]]))).toThrow("no prediction for 1 of 2 images ('b')");
    expect(() => evaluatePredictions(dataset, new Map([['a', [[1, 1]]], ['b', [[1, 1], [2, 2]]]]))).toThrow("prediction for 'a' has 1 landmarks, the data set has 2");
    expect(() => evaluatePredictions(dataset, new Map([['a', [[1, 1], [2, 2]]], ['b', [[1, 1], [2, 2]]]]), { protocol: 'gu2net' })).toThrow(/defined for isbi2015, hand-dha and chest-shenzhen/);
    const noSpacing = { ...dataset, items: dataset.items.map((i) => ({ ...i, mmPerPixel: undefined })) };
    expect(() => evaluatePredictions(noSpacing, new Map([['a', [[1, 1], [2, 2]]], ['b', [[1, 1], [2, 2]]]]))).toThrow("'a' (/x/a.png) has no pixel spacing");
  });

  test('Python rounding: halves go to the even neighbour', () => {
    expect([0.5, 1.5, 2.5, -1.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -2, 2, 3]);
  });

  test('JSON keeps thresholds ascending and written like the numbers; text is a table', () => {
    const s = evaluatePredictions(dataset, new Map([['a', [[14, 10], [20, 16]]], ['b', [[30, 30], [40, 40]]]]), { thresholds: [2, 2.5, 3, 4] });
    const json = summaryToJson(s);
    expect(json.indexOf('"2"')).toBeLessThan(json.indexOf('"2.5"'));
    expect(json.indexOf('"2.5"')).toBeLessThan(json.indexOf('"3"'));
    const parsed = JSON.parse(json);
    expect(parsed.n_images).toBe(2);
    expect(parsed.mre).toEqual({ value: 1, unit: 'mm', std: 1 });
    expect(parsed.sdr).toEqual({ '2': 100, '2.5': 100, '3': 100, '4': 100 });
    expect(parsed.per_landmark[1]).toEqual({ landmark: 2, mre: 1, std: 1, sdr: { '2': 100, '2.5': 100, '3': 100, '4': 100 } });
    expect(summaryToText(s)).toMatch(/MRE \(mm\)/);
  });

  test('aggregate gives mean and population std over runs', () => {
    const one = evaluatePredictions(dataset, new Map([['a', [[14, 10], [20, 16]]], ['b', [[30, 30], [40, 40]]]]));
    const zero = evaluatePredictions(dataset, new Map([['a', [[10, 10], [20, 20]]], ['b', [[30, 30], [40, 40]]]]));
    const agg = aggregateSummaries([one, zero]);
    expect(agg.mre).toEqual({ mean: 0.5, std: 0.5, unit: 'mm' });
    expect(agg.sdr[0]).toEqual({ threshold: 2, mean: 100, std: 0 });
  });

  test('mean-shape baseline: every landmark at its training mean', () => {
    const shape = meanShape(dataset.items);
    expect(shape).toEqual([[20, 20], [30, 30]]);
    const s = evaluatePredictions(dataset, constantPredictions(dataset.items, shape));
    // each landmark is 10 sqrt(2) px from the mean, x 0.5 mm
    expect(s.mre.value).toBeCloseTo(5 * Math.SQRT2, 12);
    expect(() => meanShape([])).toThrow('at least one');
  });

  test('the baseline is scored like the model (same protocol and thresholds) and written beside it', () => {
    const training = [{ landmarks: [[10, 10], [20, 20]] as [number, number][] }, { landmarks: [[30, 30], [40, 40]] as [number, number][] }];
    const baseline = evaluateMeanShape(training, dataset, { thresholds: [7, 8] });
    expect(baseline.n_train).toBe(2);
    expect(baseline.summary.mre.value).toBeCloseTo(5 * Math.SQRT2, 12);
    expect(baseline.summary.sdr).toEqual([{ threshold: 7, percent: 0 }, { threshold: 8, percent: 100 }]);
    const model = evaluatePredictions(dataset, new Map([['a', [[14, 10], [20, 16]]], ['b', [[30, 30], [40, 40]]]]), { thresholds: [7, 8] });
    const parsed = JSON.parse(summaryToJson(model, baseline));
    expect(parsed.baseline).toEqual({ n_train: 2, mre: { value: baseline.summary.mre.value, unit: 'mm', std: 0 }, sdr: { '7': 0, '8': 100 } });
    expect(JSON.parse(summaryToJson(model)).baseline).toBeUndefined();
    const text = summaryToText(model, baseline);
    expect(text).toMatch(/^model +2 +2 +1\.00 +1\.00 +100\.00% +100\.00%$/m);
    expect(text).toMatch(/^mean shape +2 +2 +7\.07 +0\.00 +0\.00% +100\.00%$/m);
    expect(summaryToText(model)).not.toContain('mean shape');
    const agg = aggregateToText(aggregateSummaries([model]), aggregateSummaries([baseline.summary]));
    expect(agg).toMatch(/^mean shape +1 +7\.07 ± 0\.00/m);
  });

  test('one warning line only when the model is worse than the mean shape', () => {
    expect(baselineWarning(10.26, 9.63, 'mm')).toBe('the model is worse than the mean shape: MRE 10.26 mm against 9.63 mm with every landmark at its training mean');
    expect(baselineWarning(9.63, 9.63, 'mm')).toBeUndefined();
    expect(baselineWarning(1.5, 9.63, 'mm')).toBeUndefined();
  });
});
