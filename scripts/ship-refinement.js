#!/usr/bin/env node
// Gives a shipped model (models/NAME/model.onnx, scripts/ship-model.js) the refinement stages of a refined
// model (lmk train --first-stage, lmk join), each as a file of its own beside it
// (models/NAME/refinement.onnx, then refinement-2.onnx... for a chain, named in the first stage's
// lmk.refine): each file then stays under the 4 MiB a shipped file may take, where the stages joined would
// not. --min-score and --refined-weight apply to each refinement. The refinement's convolution weights are stored as float16 (ONNX Runtime folds the casts
// back to float32), except those --keep-float32 names. The first stage's weights are not touched. Run after
// `npm run build` (it uses dist/):
//   node scripts/ship-refinement.js --name isbi2015-head --refined RUN/model.onnx [--min-score S] [--refined-weight W]
//                                   [--keep-float32 PREFIX,...] [--accuracy "..."]
const { existsSync, statSync } = require('fs');
const { join } = require('path');
const yargs = require('yargs/yargs');
const dist = join(__dirname, '..', 'dist');
const { parseModelFile, readModelFile, saveModel } = require(join(dist, 'onnx'));
const { storeWeightsAsHalf } = require(join(dist, 'models', 'half'));
const { MODEL_ACCURACY_KEY, SHIPPED_MODELS_DIR } = require(join(dist, 'models', 'shipped'));
const { firstStageOf, joinSettings, joinStages, refinementStages, splitStages, REFINE_KEY } = require(join(dist, 'refine', 'stages'));

const REFINEMENT_FILE = 'refinement.onnx';

const argv = yargs(process.argv.slice(2))
  .option('name', { type: 'string', demandOption: true, describe: 'the shipped model (a folder of models/)' })
  .option('refined', { type: 'string', demandOption: true, describe: 'a refined model whose refinement stages to ship' })
  .option('min-score', { type: 'number', describe: "the refinement's score a refined point needs to move the first stage's (default: the refined model's)" })
  .option('refined-weight', { type: 'number', describe: "the refined point's weight in its average with the first stage's, over 0 up to 1 (default: the refined model's)" })
  .option('keep-float32', { type: 'string', describe: 'comma-separated name prefixes of refinement weights to keep in float32' })
  .option('accuracy', { type: 'string', describe: "the shipped model's new one-line accuracy statement (lmk models)" })
  .strict().parseSync();

(async () => {
  const firstPath = join(SHIPPED_MODELS_DIR, argv.name, 'model.onnx');
  if (!existsSync(firstPath)) throw new Error(`${firstPath}: no such shipped model`);
  let first = parseModelFile(readModelFile(firstPath, 'shipped model'), firstPath);
  // Refinements shipped before are replaced.
  if (first.metadata?.[REFINE_KEY] !== undefined) first = firstStageOf(first);
  const keep = (argv['keep-float32'] ?? '').split(',').filter(Boolean);
  const mib = (f) => (statSync(f).size / 2 ** 20).toFixed(2);
  for (const { model, settings } of refinementStages(parseModelFile(readModelFile(argv.refined, 'refined model'), argv.refined), argv.refined, argv.refined)) {
    const kept = joinSettings(settings, { minScore: argv.minScore, refinedWeight: argv.refinedWeight });
    first = joinStages(first, storeWeightsAsHalf(model, (name) => keep.some((p) => name.startsWith(p))), kept);
    console.log(`refinement: crop ${settings.crop}, factor ${settings.factor}, min score ${kept.minScore}, refined weight ${kept.refinedWeight}`);
  }
  const split = splitStages(first, REFINEMENT_FILE);
  const metadata = { ...split.first.metadata, ...(argv.accuracy ? { [MODEL_ACCURACY_KEY]: argv.accuracy } : {}) };
  // The refinements' files first: the first stage never names a file that is not there.
  for (const r of split.refinements) {
    const path = join(SHIPPED_MODELS_DIR, argv.name, r.file);
    await saveModel(r.model, path);
    console.log(`wrote ${path} (${mib(path)} MiB)`);
  }
  await saveModel({ ...split.first, metadata }, firstPath);
  console.log(`wrote ${firstPath} (${mib(firstPath)} MiB)`);
})().catch((err) => {
  console.error(`ship-refinement: ${err.message}`);
  process.exit(1);
});
