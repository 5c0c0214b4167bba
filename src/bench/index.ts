/** `lmk-bench`: inference throughput and latency (end to end and session only), and the training step. */
export { benchInference, formatInferenceBench, percentile, syntheticXray } from './inference';
export type { InferenceBenchOptions, InferenceBenchResult } from './inference';
export { benchTrainStep } from '../train/bench';
export type { TrainBenchOptions, TrainBenchResult } from '../train/bench';
export { formatTrainBench } from './train';
