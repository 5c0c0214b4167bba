/** Inference with exported models: sessions, execution providers, the Predictor. */
export { Predictor, mirrorInput, PLAUSIBILITY_KEY } from './predictor';
export type { PredictorOptions, Prediction, Plausibility } from './predictor';
export { prepareImage } from './prepare';
export type { PreparedImage, PrepareOptions } from './prepare';
export { openSession } from './session';
export type { SessionOptions, OpenedSession, GraphOptimizationLevel } from './session';
export { setupCuda, cudaProviderStatus, cudaProviderProblem, providerDir, ortVersion } from './providers';
export type { ExecutionProvider, CudaSource, CudaProviderStatus } from './providers';
export { paddedSize, padBottomRight, cropTopLeft, NETWORK_STRIDE } from './padding';
export { defaultSessionThreads, LIGHT_MODEL_MACS } from './threads';
