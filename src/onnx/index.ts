export * from './graph';
export { GraphBuilder, OPSET } from './builder';
export type { OpOptions, ConvOptions, PoolOptions } from './builder';
export { serializeModel, parseModel, saveModel, readModelMetadata, readModelFile, parseModelFile } from './serialize';
export { inferShapes, inferNode, constantInts, broadcastDims, sliceRanges } from './shapes';
export type { StaticShape, SliceRange } from './shapes';
