import { CommandModule } from 'yargs';
import { cudaProviderProblem, cudaProviderStatus, setupCuda, CudaSource } from '../../infer/providers';
import { openSession } from '../../infer/session';
import { GraphBuilder, serializeModel } from '../../onnx';

interface SetupCudaArgs {
  source: CudaSource;
  check: boolean;
}

/** A one-node model: enough to ask ONNX Runtime whether the CUDA provider starts. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder('cuda_probe');
  g.output(g.relu(g.input('x', 'float32', [1])), 'y');
  return serializeModel(g.build());
}

const cuda: CommandModule<{}, SetupCudaArgs> = {
  command: 'cuda',
  describe: 'Install the CUDA execution provider for onnxruntime-node (opt-in; about 180 MB)',
  builder: (y) => y
    .option('source', { choices: ['npm', 'nuget'] as const, default: 'npm' as CudaSource, describe: 'npm: pinned npm-registry package (works offline from npm mirrors); nuget: onnxruntime-node\'s own installer' })
    .option('check', { type: 'boolean', default: false, describe: 'only report whether the provider is installed and starts' }),
  handler: async (args) => {
    if (!args.check) {
      const status = cudaProviderStatus();
      if (status.installed) console.log(`CUDA provider files already present in ${status.dir}`);
      else setupCuda(args.source, (line) => console.log(line));
    }
    const problem = cudaProviderProblem();
    if (problem) throw new Error(problem);
    await openSession(probeModel(), { executionProvider: 'cuda' });
    console.log('CUDA execution provider: installed and starts');
  },
};

export const setupCommand: CommandModule = {
  command: 'setup <what>',
  describe: 'Optional set-up steps (cuda)',
  builder: (y) => y.command(cuda).demandCommand(1),
  handler: () => undefined,
};
