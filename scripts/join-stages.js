#!/usr/bin/env node
// Joins the refinement stage of a two-stage model (lmk train --first-stage) to another first stage: the
// refinement trains on crops about the true landmarks, whatever first stage later finds their centres, so
// one refinement run serves several first stages (a validation run's, the shipped model's). Dev tool, run
// after `npm run build`:
//   node scripts/join-stages.js --first FIRST.onnx --refined TWO_STAGES.onnx --out OUT.onnx [--min-score S]
//                                [--refined-weight W]
const { readFileSync } = require('fs');
const { join } = require('path');
const yargs = require('yargs/yargs');
const dist = join(__dirname, '..', 'dist');
const { parseModel, saveModel } = require(join(dist, 'onnx'));
const { joinSettings, joinStages, refinementStage } = require(join(dist, 'refine', 'stages'));
const { resolveModelFile } = require(join(dist, 'models', 'shipped'));

const argv = yargs(process.argv.slice(2))
  .option('first', { type: 'string', demandOption: true, describe: 'the first stage (.onnx or a shipped name)' })
  .option('refined', { type: 'string', demandOption: true, describe: 'a two-stage model (.onnx or a shipped name) whose refinement stage to take' })
  .option('out', { type: 'string', demandOption: true })
  .option('min-score', { type: 'number', describe: "the refinement's score a refined point needs to move the first stage's (default: the refined model's)" })
  .option('refined-weight', { type: 'number', describe: "the refined point's weight in its average with the first stage's, over 0 up to 1 (default: the refined model's)" })
  .strict().parseSync();

(async () => {
  const first = parseModel(readFileSync(resolveModelFile(argv.first)));
  const refined = resolveModelFile(argv.refined);
  const { model, settings } = refinementStage(parseModel(readFileSync(refined)), refined, refined);
  const kept = joinSettings(settings, { minScore: argv.minScore, refinedWeight: argv.refinedWeight });
  await saveModel(joinStages(first, model, kept), argv.out);
  console.log(`wrote ${argv.out}: ${argv.first} refined by ${argv.refined}'s stage (crop ${settings.crop}, factor ${settings.factor}, min score ${kept.minScore}, refined weight ${kept.refinedWeight})`);
})().catch((err) => {
  console.error(`join-stages: ${err.message}`);
  process.exit(1);
});
