import * as ort from 'onnxruntime-node';
import { cudaProviderProblem, ExecutionProvider } from './providers';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Default 'cpu'. */
  executionProvider?: ExecutionProvider;
  /** When the requested provider cannot start, use the CPU instead (and say so through `onWarning`). Default false. */
  allowCpuFallback?: boolean;
  /** Intra-op threads; default: ONNX Runtime's choice (all physical cores). */
  threads?: number;
  /** Default 'all'. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  onWarning?: (message: string) => void;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider that actually runs the graph. */
  executionProvider: ExecutionProvider;
}

function ortOptions(ep: ExecutionProvider, o: SessionOptions): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ep === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: o.graphOptimizationLevel ?? 'all',
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // ONNX Runtime prints provider-loading failures itself; we report them in one line instead.
    logSeverityLevel: 4,
  };
  if (o.threads !== undefined) options.intraOpNumThreads = o.threads;
  return options;
}

/** Opens an ONNX Runtime session on the requested provider, falling back to the CPU only when allowed. */
export async function openSession(model: string | Uint8Array, o: SessionOptions = {}): Promise<OpenedSession> {
  const ep = o.executionProvider ?? 'cpu';
  if (ep !== 'cpu' && ep !== 'cuda') throw new TypeError(`executionProvider must be 'cpu' or 'cuda', not '${String(ep)}'`);
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)) {
    throw new RangeError(`threads must be a positive integer, not ${o.threads}`);
  }
  const create = (p: ExecutionProvider) =>
    typeof model === 'string' ? ort.InferenceSession.create(model, ortOptions(p, o)) : ort.InferenceSession.create(model, ortOptions(p, o));
  if (ep === 'cpu') return { session: await create('cpu'), executionProvider: 'cpu' };
  let problem = cudaProviderProblem();
  if (!problem) {
    try {
      return { session: await create('cuda'), executionProvider: 'cuda' };
    } catch (err) {
      problem = `the CUDA execution provider could not start: ${(err as Error).message}`;
    }
  }
  if (!o.allowCpuFallback) throw new Error(problem);
  o.onWarning?.(`${problem}; running on the CPU instead`);
  return { session: await create('cpu'), executionProvider: 'cpu' };
}
