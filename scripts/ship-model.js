#!/usr/bin/env node
// Makes a trained model into a shipped one (models/NAME/model.onnx): convolution weights stored as float16
// (ONNX Runtime folds the casts back to float32 at session creation), and the metadata `lmk models` lists:
// its name, a one-line accuracy statement, landmark names where the model has none yet, and the plausibility
// bound (scripts/calibrate-plausibility.js). Run after
// `npm run build` (it uses dist/):
//   node scripts/ship-model.js --model RUN/model.onnx --name isbi2015-head --accuracy "..." [--landmarks isbi2015]
//                              [--plausibility '{"anatomy": "lateral cephalogram", "minMeanScore": 0.62, "mirrorBelow": 0.77}']
//                              [--keep-float32 PREFIX,...] [--out FILE]
// The model card (models/NAME/README.md) is written by hand, with the figures of the shipped file.
const { mkdirSync, statSync } = require('fs');
const { dirname, join } = require('path');
const yargs = require('yargs/yargs');
const dist = join(__dirname, '..', 'dist');
const { parseModelFile, readModelFile, saveModel } = require(join(dist, 'onnx'));
const { storeWeightsAsHalf } = require(join(dist, 'models', 'half'));
const { MODEL_NAME_KEY, MODEL_ACCURACY_KEY, SHIPPED_MODELS_DIR } = require(join(dist, 'models', 'shipped'));
const { formatLandmarkNames, serializeLandmarkNames, LANDMARK_NAMES_KEY } = require(join(dist, 'data'));

const argv = yargs(process.argv.slice(2))
  .option('model', { type: 'string', demandOption: true, describe: 'the trained .onnx (lmk train)' })
  .option('name', { type: 'string', demandOption: true, describe: 'the shipped name (a folder of models/)' })
  .option('accuracy', { type: 'string', demandOption: true, describe: 'one line: how it scores, on what' })
  .option('landmarks', { type: 'string', describe: 'a format whose landmark names to store where the model has none (isbi2015)' })
  .option('plausibility', { type: 'string', describe: 'lmk.plausibility: {"anatomy": ..., "minMeanScore": ..., "mirrorBelow": ...} (scripts/calibrate-plausibility.js)' })
  .option('keep-float32', { type: 'string', describe: 'comma-separated name prefixes of weights to keep in float32 (the layers whose rounding moves landmarks)' })
  .option('out', { type: 'string', describe: 'default models/NAME/model.onnx' })
  .strict().parseSync();

(async () => {
  const model = parseModelFile(readModelFile(argv.model, 'trained model'), argv.model);
  const metadata = { ...model.metadata, [MODEL_NAME_KEY]: argv.name, [MODEL_ACCURACY_KEY]: argv.accuracy };
  if (argv.landmarks && !metadata[LANDMARK_NAMES_KEY]) {
    metadata[LANDMARK_NAMES_KEY] = serializeLandmarkNames(formatLandmarkNames(argv.landmarks, Number(metadata['lmk.classes'])));
  }
  if (argv.plausibility) metadata['lmk.plausibility'] = JSON.stringify(JSON.parse(argv.plausibility));
  const out = argv.out ?? join(SHIPPED_MODELS_DIR, argv.name, 'model.onnx');
  mkdirSync(dirname(out), { recursive: true });
  const keep = (argv['keep-float32'] ?? '').split(',').filter(Boolean);
  await saveModel({ ...storeWeightsAsHalf(model, (name) => keep.some((p) => name.startsWith(p))), metadata }, out);
  console.log(`wrote ${out} (${(statSync(out).size / 2 ** 20).toFixed(2)} MiB)`);
})().catch((err) => {
  console.error(`ship-model: ${err.message}`);
  process.exit(1);
});
