import { foldAssignment, Random, selectFold } from '../../src/data';

describe('k-fold cross-validation', () => {
  const items = Array.from({ length: 23 }, (_, i) => `item${i}`);

  it('partitions the training part into disjoint folds of near-equal size', () => {
    const seen = new Set<string>();
    for (let fold = 0; fold < 5; fold++) {
      const { train, val } = selectFold(items, 5, fold);
      expect(train.length + val.length).toBe(items.length);
      expect([4, 5]).toContain(val.length);
      for (const v of val) {
        expect(train).not.toContain(v);
        expect(seen.has(v)).toBe(false);
        seen.add(v);
      }
      // Canonical order is kept within each part.
      expect(train).toEqual(items.filter((i) => train.includes(i)));
    }
    expect(seen.size).toBe(items.length);
  });

  it('is deterministic, and shuffled rather than in blocks', () => {
    expect(foldAssignment(23, 5)).toEqual(foldAssignment(23, 5));
    expect(foldAssignment(23, 5)).not.toEqual(Array.from({ length: 23 }, (_, i) => i % 5));
    expect(foldAssignment(23, 5, 1)).not.toEqual(foldAssignment(23, 5, 0));
  });

  it('validates folds and fold', () => {
    expect(() => selectFold(items, 1, 0)).toThrow('folds must be an integer of at least 2');
    expect(() => selectFold(items, 5, 5)).toThrow('fold must be an integer from 0 to 4');
  });

  it('has a seeded generator that repeats', () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
