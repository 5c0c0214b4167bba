#!/usr/bin/env node
/**
 * The shape check on ISBI 2015 annotations (a measurement, not a test): shape model from 001-150, test on
 * 151-300 ground truth plus Gaussian noise (per axis, mm) and 0-3 far-off points per image (10-30 mm away,
 * random direction; or 40-90 mm away with a good point's score, as a detector sure of the wrong structure). Prints MRE before/after and what was replaced. Needs `npm run build` and ../shared/data.
 * Usage: node scripts/measure-shape-check.js [options JSON for checkShape, e.g. '{"farSpreads":5}']
 */
const { readFileSync } = require('fs');
const { resolve } = require('path');
const { buildShapeModel, checkShape } = require('../dist/shape');

const root = resolve(__dirname, '..', '..', 'shared', 'data', 'isbi2015', 'AnnotationsByMD');
const read = (who, id) => readFileSync(`${root}/${who}/${id}.txt`, 'utf8').trim().split(/\r?\n/).slice(0, 19).map((l) => l.split(',').map(Number));
const head = (n) => {
  const id = String(n).padStart(3, '0');
  const s = read('400_senior', id);
  const j = read('400_junior', id);
  return s.map((p, k) => [(p[0] + j[k][0]) / 2, (p[1] + j[k][1]) / 2]);
};
const train = Array.from({ length: 150 }, (_, i) => ({ landmarks: head(i + 1) }));
const test = Array.from({ length: 150 }, (_, i) => head(i + 151));
const model = buildShapeModel(train);
const options = JSON.parse(process.argv[2] || '{}');
const PX_PER_MM = 10;

let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const mre = (pred, gt) => pred.reduce((a, p, k) => a + Math.hypot(p[0] - gt[k][0], p[1] - gt[k][1]), 0) / gt.length / PX_PER_MM;

// Scores: good points 0.5-0.9; outliers 0-0.3 ('low'), or every point 0.1 ('all low': confidence says nothing),
// or outliers 40-90 mm off scored like good points ('sure').
for (const mode of ['low', 'all low', 'sure']) {
  for (const noise of mode === 'sure' ? [1.5, 3] : [0, 1.5]) {
    for (const outliers of [0, 1, 2, 3]) {
      seed = 7 + outliers;
      let before = 0, after = 0, replaced = 0, goodReplaced = 0, failed = 0, back = 0, backCount = 0;
      for (const gt of test) {
        const pred = gt.map(([x, y]) => [x + gauss() * noise * PX_PER_MM, y + gauss() * noise * PX_PER_MM]);
        const scores = gt.map(() => (mode === 'all low' ? 0.1 : 0.5 + 0.4 * rand()));
        const moved = new Set();
        while (moved.size < outliers) moved.add(Math.floor(rand() * 19));
        for (const k of moved) {
          const d = (mode === 'sure' ? 40 + 50 * rand() : 10 + 20 * rand()) * PX_PER_MM;
          const a = 2 * Math.PI * rand();
          pred[k] = [pred[k][0] + d * Math.cos(a), pred[k][1] + d * Math.sin(a)];
          if (mode === 'low') scores[k] = 0.3 * rand();
        }
        const res = checkShape(pred, scores, model, options);
        before += mre(pred, gt);
        after += mre(res.points, gt);
        replaced += res.replaced.length;
        failed += res.fitFailed ? 1 : 0;
        goodReplaced += res.replaced.filter((k) => !moved.has(k)).length;
        for (const k of moved) {
          if (!res.replaced.includes(k)) continue;
          back += Math.hypot(res.points[k][0] - gt[k][0], res.points[k][1] - gt[k][1]) / PX_PER_MM;
          backCount++;
        }
      }
      const n = test.length;
      console.log(`scores ${mode}, noise ${noise} mm, ${outliers} outliers: MRE ${(before / n).toFixed(3)} -> ${(after / n).toFixed(3)} mm; replaced ${(replaced / n).toFixed(2)}/image (${goodReplaced} good points in all), fit failed ${failed}, replaced outliers ${backCount ? (back / backCount).toFixed(2) : '-'} mm from the truth`);
    }
  }
}
const scores = test[0].map(() => 0.1);
const t0 = process.hrtime.bigint();
for (let i = 0; i < 3000; i++) checkShape(test[i % test.length], scores, model, options);
console.log(`${(Number(process.hrtime.bigint() - t0) / 1e6 / 3000).toFixed(3)} ms per check (19 landmarks)`);
