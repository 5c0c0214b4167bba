/** Streaming archive prediction: walk, prepare on worker threads, batched inference, resumable journals. */
export { predictArchive, idOf, inputKey, roundedPrediction, PREDICTIONS_FILE, ERRORS_FILE, CSV_FILE, OVERLAY_DIR, SR_DIR } from './archive';
export type { PredictArchiveOptions, PredictArchiveResult, PredictionLine, ErrorLine, ArchiveProgress } from './archive';
export { runPipeline } from './pipeline';
export type { PipelineInput, PipelineResult, PipelineHandlers, PipelineOptions, StageTimes } from './pipeline';
export { PreparePool } from './pool';
export { prepareTimed } from './prepare';
export type { GreyPreview, TimedPreparedImage, PrepareTaskOptions } from './prepare';
export { walkInputs, candidateKind, IMAGE_EXTENSIONS } from './walk';
export { JsonlJournal, readJournalKeys } from './journal';
export { writePredictionsCsv } from './csv';
export { predictionOverlayPng } from './overlay';
export { parseShard, shardFromEnvironment, shardOfKey, shardDir, ShardError, SHARDS_DIR, DONE_FILE } from './shard';
export type { Shard, ShardDone } from './shard';
export { mergeShards, IncompleteShardsError } from './merge';
export type { MergeResult } from './merge';
