/**
 * Shape statistics over landmark sets and the shape check against far-off points. Pure math over points:
 * imports nothing else of lmk at run time.
 */
export { applySimilarity, fitSimilarity, similarityScale } from './similarity';
export type { Point, Similarity } from './similarity';
export { buildShapeModel, serializeShapeModel, parseShapeModel, MIN_SHAPE_ITEMS, MIN_SHAPE_LANDMARKS, SHAPE_MODEL_KEY } from './model';
export type { ShapeModel } from './model';
export { checkShape, DEFAULT_SHAPE_CHECK } from './check';
export type { ShapeCheckOptions, ShapeCheckResult } from './check';
export { buildFraming, serializeFraming, parseFraming, framingWindow, spacingWindow, reframes, FRAMING_KEY, REFRAME_SCALE, REFRAME_SHIFT } from './framing';
export type { Framing } from './framing';
