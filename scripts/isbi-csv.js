#!/usr/bin/env node
// A `csv` data set (landmarks.csv) from ISBI 2015 images, for measuring fine-tuning as a hospital would do it:
// the images of --train ranges in the training split, those of --test in the test split, paths absolute,
// spacing 0.1 mm, the ISBI loader's ground truth. Dev tool, run after `npm run build`:
//   node scripts/isbi-csv.js --root ISBI_DIR --out DIR --train 151-160 --test 191-270
const { mkdirSync, writeFileSync, renameSync } = require('fs');
const { join, resolve } = require('path');
const yargs = require('yargs/yargs');
const { loadDataset } = require(join(__dirname, '..', 'dist', 'data'));

const argv = yargs(process.argv.slice(2))
  .option('root', { type: 'string', demandOption: true, describe: 'an ISBI 2015 folder (or a copy from isbi-transform.js)' })
  .option('out', { type: 'string', demandOption: true })
  .option('train', { type: 'array', string: true, demandOption: true, describe: 'id ranges A-B' })
  .option('test', { type: 'array', string: true, default: [], describe: 'id ranges A-B' })
  .strict().parseSync();

const inRanges = (ranges) => (id) => ranges.some((r) => {
  const [a, b] = r.split('-').map(Number);
  return Number(id) >= a && Number(id) <= (b ?? a);
});

(async () => {
  const dataset = await loadDataset({ format: 'isbi2015', root: resolve(argv.root), split: 'all' });
  const train = inRanges(argv.train);
  const test = inRanges(argv.test);
  const rows = dataset.items.filter((i) => train(i.id) || test(i.id)).map((i) => [i.imagePath, ...i.landmarks.flat().map((v) => v.toFixed(3)), '0.1', train(i.id) ? 'train' : 'test']);
  const n = dataset.landmarkCount;
  const header = ['image', ...Array.from({ length: n }, (_, k) => [`x${k + 1}`, `y${k + 1}`]).flat(), 'spacing_mm', 'split'];
  mkdirSync(argv.out, { recursive: true });
  const file = join(argv.out, 'landmarks.csv');
  writeFileSync(`${file}.tmp`, [header, ...rows].map((r) => r.join(',')).join('\n') + '\n');
  renameSync(`${file}.tmp`, file);
  console.log(`${file}: ${rows.filter((r) => r.at(-1) === 'train').length} train, ${rows.filter((r) => r.at(-1) === 'test').length} test`);
})().catch((err) => {
  console.error(`isbi-csv: ${err.message}`);
  process.exit(1);
});
