#!/usr/bin/env node
// The plausibility bounds of a model (lmk.plausibility): the mean landmark score of each image, as it is and
// mirrored, over positives (images of the model's anatomy, e.g. its training images) and negatives (other
// radiographs). minMeanScore, below which an image is refused, sits `--margin` above every negative (the
// better of its two passes), not halfway to the positives: images of other scanners score lower than the
// model's own training images and must not be refused. mirrorBelow, below which the mirrored image is tried
// too, sits halfway between the positives seen mirrored (a patient facing the other way) and as they are.
// Prints the distributions and both, where the classes do not overlap. Run after `npm run build`:
//   node scripts/calibrate-plausibility.js --model M.onnx --positives DIR... --negatives DIR|FILE... [--margin 0.05] [--json]
const { join } = require('path');
const yargs = require('yargs/yargs');
const dist = join(__dirname, '..', 'dist');
const { Predictor, mirrorInput, PLAUSIBILITY_KEY } = require(join(dist, 'infer'));
const { parseModel, serializeModel } = require(join(dist, 'onnx'));
const { readFileSync } = require('fs');
const { walkInputs } = require(join(dist, 'predict', 'walk'));

const argv = yargs(process.argv.slice(2))
  .option('model', { type: 'string', demandOption: true })
  .option('positives', { type: 'array', string: true, demandOption: true })
  .option('negatives', { type: 'array', string: true, demandOption: true })
  .option('threads', { type: 'number' })
  .option('margin', { type: 'number', default: 0.05, describe: 'the bound above the highest negative or mirrored positive' })
  .option('json', { type: 'boolean', default: false })
  .strict().parseSync();

/**
 * The mean score of each file as the Predictor finds it through a window (its second look, or a spacing's),
 * the better of both orientations (`predictor` mirrors every image and refuses none).
 */
async function windowScores(predictor, inputs) {
  const out = [];
  for await (const file of walkInputs(inputs, () => {})) {
    const p = await predictor.predict(file).catch(() => undefined);
    if (p?.window) out.push({ file, score: p.meanScore });
  }
  return out;
}

async function scores(predictor, inputs) {
  const out = [];
  for await (const file of walkInputs(inputs, (path, err) => console.error(`${path}: ${err.message}`))) {
    const prepared = await predictor.prepare(file).catch((err) => (console.error(err.message), undefined));
    if (!prepared) continue;
    const [maps, mirroredMaps] = await predictor.heatmaps([prepared.input, mirrorInput(prepared.input, predictor.inChannels, predictor.grid)]);
    const first = (await predictor.landmarks(maps, prepared)).meanScore;
    const mirrored = (await predictor.landmarks(mirroredMaps, prepared)).meanScore;
    out.push({ file, first, mirrored });
  }
  return out;
}

const range = (values) => {
  const v = [...values].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { n: v.length, min: v[0], p5: q(0.05), median: q(0.5), max: v[v.length - 1] };
};
const fixed = (r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, k === 'n' ? x : Number(x.toFixed(4))]));

(async () => {
  // The check itself is off here: both passes of every image are scored as they are, without the second look
  // (the Predictor decides on mirroring and refusal before it).
  const predictor = await Predictor.create({ model: argv.model, threads: argv.threads, plausibilityCheck: false, reframe: false });
  // Where the model stores its framing: the negatives as a look through a window scores them, either way round.
  const model = parseModel(readFileSync(argv.model));
  const always = JSON.stringify({ anatomy: 'any', minMeanScore: 0, mirrorBelow: Number.MAX_VALUE, minWindowScore: 0 });
  const looking = await Predictor.create({ model: serializeModel({ ...model, metadata: { ...model.metadata, [PLAUSIBILITY_KEY]: always } }), threads: argv.threads });
  try {
    const positives = await scores(predictor, argv.positives);
    const negatives = await scores(predictor, argv.negatives);
    const windowed = looking.framing ? await windowScores(looking, argv.negatives) : [];
    const highestWindowed = Math.max(0, ...windowed.map((w) => w.score));
    const lowestPositive = Math.min(...positives.map((p) => p.first));
    const highestNegative = Math.max(...negatives.map((n) => Math.max(n.first, n.mirrored)));
    const highestMirrored = Math.max(...positives.map((p) => p.mirrored));
    const below = Math.max(highestNegative, highestMirrored);
    const result = {
      positives: fixed(range(positives.map((p) => p.first))),
      positivesMirrored: fixed(range(positives.map((p) => p.mirrored))),
      negatives: fixed(range(negatives.map((n) => Math.max(n.first, n.mirrored)))),
      highestNegative: negatives.find((n) => Math.max(n.first, n.mirrored) === highestNegative)?.file,
      highestPositiveMirrored: positives.find((p) => p.mirrored === highestMirrored)?.file,
      separated: lowestPositive > below,
      // Refuse below: a margin above the negatives. Mirror below: halfway between the positives seen
      // mirrored and as they are (unseen images score lower than training ones, both ways).
      minMeanScore: lowestPositive > below ? Number(Math.min(highestNegative + argv.margin, (lowestPositive + below) / 2).toFixed(3)) : null,
      mirrorBelow: lowestPositive > below ? Number(((lowestPositive + highestMirrored) / 2).toFixed(3)) : null,
      // Through a window: a margin above what the negatives score so (at least minMeanScore).
      negativesThroughWindow: windowed.length ? fixed(range(windowed.map((w) => w.score))) : null,
      minWindowScore: lowestPositive > below && windowed.length ? Number(Math.max(Math.min(highestNegative + argv.margin, (lowestPositive + below) / 2), highestWindowed + argv.margin).toFixed(3)) : null,
    };
    console.log(argv.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
    if (!result.separated) process.exitCode = 1;
  } finally {
    await predictor.release();
    await looking.release();
  }
})().catch((err) => {
  console.error(`calibrate-plausibility: ${err.message}`);
  process.exit(1);
});
