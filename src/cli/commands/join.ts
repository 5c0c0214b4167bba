import { Argv, CommandModule } from 'yargs';
import { resolveModelFile } from '../../models/shipped';
import { parseModelFile, readModelFile, saveModel, type Model } from '../../onnx';
import { joinSettings, joinStages, refinementStages } from '../../refine/stages';

interface JoinArgs {
  first: string;
  refined: string;
  out: string;
  'min-score'?: number;
  'refined-weight'?: number;
}

function readModel(value: string, role: string): { path: string; model: Model } {
  const path = resolveModelFile(value, `${role}: `);
  return { path, model: parseModelFile(readModelFile(path, role), path) };
}

/**
 * A refinement stage trains on crops about the true landmarks, whatever first stage later finds their centres
 * (lmk train --first-stage needs only the first stage's grid): this joins one to the first stage it is to refine.
 */
export const joinCommand: CommandModule<object, JoinArgs> = {
  command: 'join <first> <refined>',
  describe: "Join the refinement stages of a refined model (lmk train --first-stage) to another first stage, after any refinements it has (a chain: each crops about the point the one before it found)",
  builder: (y: Argv) => y
    .positional('first', { type: 'string', demandOption: true, describe: 'the first stage (.onnx or a shipped name), alone or with refinements in the same file' })
    .positional('refined', { type: 'string', demandOption: true, describe: 'a refined model (.onnx or a shipped name) whose refinement stages to take, in turn' })
    .option('out', { type: 'string', demandOption: true, describe: 'the .onnx file to write' })
    .option('min-score', { type: 'number', describe: "the refinement's score a refined point needs to move the point before it (default: the refined model's)" })
    .option('refined-weight', { type: 'number', describe: "how far a refined point moves the point before it, over 0 up to 1 (default: the refined model's)" })
    .example('$0 join first/model.onnx wide/model.onnx --out model.onnx', 'a first stage trained apart from its refinement')
    .example('$0 join model.onnx fine/model.onnx --refined-weight 0.5 --out chain.onnx', 'a second refinement after the first') as unknown as Argv<JoinArgs>,
  handler: async (args) => {
    const first = readModel(args.first, 'first stage');
    const refined = readModel(args.refined, 'refined model');
    const classes = (m: Model) => m.metadata?.['lmk.classes'];
    if (classes(first.model) === undefined) throw new Error(`${first.path}: not an lmk model (it states no lmk.classes)`);
    if (classes(refined.model) !== classes(first.model)) throw new Error(`${refined.path}: its refinement finds ${classes(refined.model) ?? 'an unstated number of'} landmarks, the first stage ${first.path} ${classes(first.model)}`);
    let joined = first.model;
    for (const { model, settings } of refinementStages(refined.model, refined.path, refined.path)) {
      const kept = joinSettings(settings, { minScore: args['min-score'], refinedWeight: args['refined-weight'] });
      try {
        joined = joinStages(joined, model, kept);
      } catch (err) {
        throw new Error(`${first.path}: ${(err as Error).message}`);
      }
      process.stderr.write(`lmk join: refinement at factor ${settings.factor}, crop ${settings.crop}: min score ${kept.minScore}, refined weight ${kept.refinedWeight}\n`);
    }
    await saveModel(joined, args.out);
    process.stdout.write(`wrote ${args.out}: ${first.path} refined by ${refined.path}\n`);
  },
};
