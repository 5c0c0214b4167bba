import { Argv, CommandModule } from 'yargs';
import { listShippedModels, SHIPPED_MODELS_DIR } from '../../models/shipped';

interface ModelsArgs {
  json: boolean;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export const modelsCommand: CommandModule<object, ModelsArgs> = {
  command: 'models',
  describe: 'List the models that ship with lmk (use a name wherever a --model file goes)',
  builder: (y: Argv) => y
    .option('json', { type: 'boolean', default: false, describe: 'print [{"name", "file", "files", "stages", "card", "bytes", "classes", "grid", "landmarkCodes", "accuracy"}]' })
    .example('$0 models', 'then: $0 predict --model isbi2015-head --input ceph.jpg --out preds') as unknown as Argv<ModelsArgs>,
  handler: async (args) => {
    const models = await listShippedModels();
    if (args.json) {
      process.stdout.write(`${JSON.stringify(models)}\n`);
      return;
    }
    if (models.length === 0) {
      process.stdout.write(`no shipped models in ${SHIPPED_MODELS_DIR}\n`);
      return;
    }
    for (const m of models) {
      const landmarks = m.landmarkCodes ? `${m.classes} landmarks (${m.landmarkCodes.join(' ')})` : `${m.classes} landmarks`;
      const stages = m.stages === 2 ? '; two stages (a refinement on crops)' : m.stages > 2 ? `; ${m.stages} stages (${m.stages - 1} refinements on crops in turn)` : '';
      process.stdout.write(`${m.name}\n  ${landmarks}; grid ${m.grid.height}x${m.grid.width}${stages}; ${mib(m.bytes)}\n  ${m.accuracy}\n  card: ${m.card}\n`);
    }
  },
};
