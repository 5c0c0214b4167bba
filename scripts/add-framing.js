#!/usr/bin/env node
// Stores lmk.framing (how the training images frame their landmarks; src/shape/framing.ts) in a model trained
// before lmk train wrote it, from the annotations it was trained on, so that the Predictor's second look
// works for it. Run after `npm run build` (it uses dist/):
//   node scripts/add-framing.js --model RUN/model.onnx --format isbi2015 --root DIR [--split train|all] [--out FILE]
const { readFileSync } = require('fs');
const { join } = require('path');
const yargs = require('yargs/yargs');
const dist = join(__dirname, '..', 'dist');
const { parseModel, saveModel } = require(join(dist, 'onnx'));
const { loadDataset } = require(join(dist, 'data'));
const { buildFraming, serializeFraming, FRAMING_KEY } = require(join(dist, 'shape'));

const argv = yargs(process.argv.slice(2))
  .option('model', { type: 'string', demandOption: true, describe: 'the .onnx model to add it to' })
  .option('format', { type: 'string', demandOption: true, describe: 'the training data set\'s format' })
  .option('root', { type: 'string', demandOption: true, describe: 'the training data set' })
  .option('split', { type: 'string', choices: ['train', 'all'], default: 'train', describe: 'the items the model was trained on' })
  .option('out', { type: 'string', describe: 'default: the model file itself' })
  .strict().parseSync();

(async () => {
  const dataset = await loadDataset({ format: argv.format, root: argv.root, split: argv.split });
  const model = parseModel(readFileSync(argv.model));
  const framing = serializeFraming(buildFraming(dataset.items));
  const out = argv.out ?? argv.model;
  await saveModel({ ...model, metadata: { ...model.metadata, [FRAMING_KEY]: framing } }, out);
  console.log(`${out}: ${FRAMING_KEY} ${framing} (${dataset.items.length} items)`);
})().catch((err) => {
  console.error(`add-framing: ${err.message}`);
  process.exit(1);
});
