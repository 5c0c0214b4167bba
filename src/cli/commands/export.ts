import { existsSync, statSync } from 'fs';
import { dirname, resolve } from 'path';
import { Argv, CommandModule } from 'yargs';
import {
  ARCHS, countParameters, detectWeightsFormat, ENCODERS, exportModelFile, importSafetensors, initStateDict, ModelSpec,
  readSafetensors, resolveSpec, StateDict, validateSeed,
} from '../../models';
import { UsageError } from '../errors';
import { checkPositiveInt, usage } from '../validate';

interface ExportArgs {
  arch: string;
  encoder: string;
  classes: number;
  'in-channels': number;
  'width-multiplier': number;
  weights?: string;
  seed: number;
  height?: number;
  width?: number;
  out: string;
}


export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Write a network as an ONNX model (input `image` [N,C,H,W], output `heatmaps` [N,classes,H,W])',
  builder: (y: Argv) => y
    .option('arch', { type: 'string', choices: ARCHS, demandOption: true, describe: 'decoder architecture (smp layout)' })
    .option('encoder', { type: 'string', choices: Object.keys(ENCODERS), default: 'vgg19', describe: 'encoder' })
    .option('classes', { type: 'number', demandOption: true, describe: 'number of heatmaps (landmarks)' })
    .option('in-channels', { type: 'number', choices: [1, 3], default: 3, describe: 'input channels (1: grey, RGB filters of the first conv summed)' })
    .option('width-multiplier', { type: 'number', default: 1, describe: 'scale every channel count (0, 1]: small models' })
    .option('weights', { type: 'string', describe: '.safetensors: smp state dict, lmk checkpoint, or an ImageNet classifier (torchvision/timm) for the encoder' })
    .option('seed', { type: 'number', default: 0, describe: 'seed for smp-style random initialisation of what --weights does not hold' })
    .option('height', { type: 'number', describe: 'default grid height, stored as metadata (lmk.grid_height)' })
    .option('width', { type: 'number', describe: 'default grid width, stored as metadata (lmk.grid_width)' })
    .option('out', { type: 'string', demandOption: true, describe: 'the .onnx file to write' })
    .example('$0 export --arch unetplusplus --classes 19 --out head.onnx', 'random smp-style initialisation (seed 0)')
    .example('$0 export --arch unet --classes 37 --weights vgg19.safetensors --out hand.onnx', 'ImageNet encoder') as unknown as Argv<ExportArgs>,
  handler: async (args) => {
    const spec: ModelSpec = {
      arch: args.arch as ModelSpec['arch'],
      encoder: args.encoder as ModelSpec['encoder'],
      classes: args.classes,
      inChannels: args['in-channels'] as 1 | 3,
      widthMultiplier: args['width-multiplier'],
    };
    usage(() => resolveSpec(spec, 'lmk export'));
    usage(() => validateSeed(args.seed, '--seed'));
    checkPositiveInt(args.height, 'height');
    checkPositiveInt(args.width, 'width');
    if ((args.height === undefined) !== (args.width === undefined)) throw new UsageError('--height and --width go together');
    const out = resolve(args.out);
    if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new UsageError(`--out ${args.out}: folder ${dirname(out)} does not exist`);

    let stateDict: StateDict;
    let origin: string;
    if (args.weights) {
      const contents = await readSafetensors(args.weights);
      const format = detectWeightsFormat(spec, contents.tensors);
      stateDict = importSafetensors(spec, contents, { seed: args.seed, source: args.weights });
      origin = format === 'imagenet'
        ? `encoder from ImageNet weights ${args.weights}, decoder and head initialised with seed ${args.seed}`
        : `weights from ${args.weights}`;
    } else {
      stateDict = initStateDict(spec, args.seed);
      origin = `random initialisation, seed ${args.seed}`;
    }
    const metadata: Record<string, string> = {};
    if (args.height !== undefined && args.width !== undefined) {
      metadata['lmk.grid_height'] = String(args.height);
      metadata['lmk.grid_width'] = String(args.width);
    }
    await exportModelFile(out, spec, stateDict, { metadata });
    const s = resolveSpec(spec);
    process.stdout.write(`wrote ${args.out}: ${s.arch}/${s.encoder}, ${s.classes} heatmaps, ${s.inChannels} input channel(s), `
      + `${countParameters(spec).toLocaleString('en-US')} parameters; ${origin}\n`);
  },
};
