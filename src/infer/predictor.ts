import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-node';
import { readModelMetadata } from '../onnx';
import { DecodedImage } from '../io';
import { frameWindow, fromWindowPoint, Grid, LandmarkName, LANDMARK_NAMES_KEY, parseLandmarkNames, Point, reducedWindowToUnitGrid, toNetworkInput, Window } from '../data';
import { cephalometricMeasurements, Measurements, measuresCephalograms } from '../cephalometry';
import { resolveModelFile } from '../models/shipped';
import { decodeDistributionsAsync, decodeHeatmapsAsync, DecodeMethod, DECODE_METHODS, OutputKind } from '../heatmaps';
import { checkShape, Framing, FRAMING_KEY, framingWindow, parseFraming, parseShapeModel, reframes, ShapeModel, SHAPE_MODEL_KEY } from '../shape';
import { openSession, SessionOptions } from './session';
import { ExecutionProvider } from './providers';
import { cropTopLeft, padBottomRight, paddedSize } from './padding';
import { prepareImage, PreparedImage, PrepareOptions } from './prepare';
import { defaultSessionThreads } from './threads';
import { parseRefinements, REFINE_KEY, stagesOf, StoredRefinement } from '../refine/stages';
import { detailFor } from '../refine/crops';
import { Refiner } from '../refine/refiner';

export interface PredictorOptions extends SessionOptions {
  /** An .onnx file written by `lmk export` or `lmk train`, the name of a shipped model (`lmk models`), or its bytes. */
  model: string | Uint8Array;
  /** Model grid (h x w). Default: the grid stored in the model (lmk.grid_height/width). */
  grid?: Grid;
  /** How heatmap models are decoded. Default 'soft-argmax'. Models whose outputs are spatial distributions (lmk.output) are always read by their mean near the mode. */
  decode?: DecodeMethod;
  /** Sigma of the training targets, sets the decoding window. Default: the model's lmk.sigma, else 2. */
  sigma?: number;
  /** Refuse images with more pixels than this (default as sharp's limitInputPixels). */
  maxPixels?: number;
  /** Replace far-off landmarks (of low confidence, or beyond any confidence) by the fitted training shape's (see src/shape). Default: when the model stores lmk.shape_model. */
  shapeCheck?: boolean;
  /** Millimetres per pixel for images whose files state no spacing (JPEG, PNG): mm coordinates and MW in mm. */
  pixelSpacingMm?: number;
  /**
   * Threads that prepare images beside the session (lmk predict's workers). With `threads` unset on the
   * CPU, a light model leaves them their cores (src/infer/threads.ts); without it, ONNX Runtime's default.
   */
  preparationWorkers?: number;
  /**
   * The plausibility check of models that store one (`lmk.plausibility`): a prediction whose mean landmark
   * score is below the model's bound is tried again on the mirrored image (patients facing the other way),
   * and marked `implausible` when that is no better. Default: on where the model stores it.
   */
  plausibilityCheck?: boolean;
  /**
   * The second look at images that frame their landmarks unlike the training images (models that store
   * `lmk.framing`): where the landmarks found lie larger, smaller or off-centre by more than
   * REFRAME_SCALE or REFRAME_SHIFT, the network runs again on the window that frames them as training did
   * (one more session run, for such images only), and the surer of the two is kept. Default: on where the model stores it.
   */
  reframe?: boolean;
  /**
   * The refinement stages of models that hold them (`lmk.refine`, src/refine): each landmark found again in a
   * crop about it at a finer pixel size (one more session run per image and refinement; a chain's each about
   * the point the one before it found). Default: on where the model has them.
   */
  refine?: boolean;
}

/** What a model calls the images it was made for, and how sure its landmarks must be on them (`lmk.plausibility`). */
export interface Plausibility {
  /** E.g. 'lateral cephalogram': refusals read `not a lateral cephalogram (...)`. */
  anatomy: string;
  /** Below this mean landmark score (both passes) an image is not of that anatomy: calibrated on negatives. */
  minMeanScore: number;
  /**
   * Below this mean score of the first pass the image is tried mirrored too, and the better kept: above what
   * the model's images score mirrored, below what they score as they are. Default: minMeanScore.
   */
  mirrorBelow: number;
  /**
   * The bound for a look through a window (the second look, or a file's pixel spacing): such looks lift other
   * radiographs' scores too, so it is calibrated on negatives seen so. Default: mirrorBelow.
   */
  minWindowScore: number;
}

export const PLAUSIBILITY_KEY = 'lmk.plausibility';

export interface Prediction {
  width: number;
  height: number;
  /** (x, y) per landmark in pixels of the original image. */
  landmarks: Point[];
  /** (x, y) in millimetres from the image origin, when the file states its pixel spacing. */
  landmarksMm?: Point[];
  /**
   * Confidence per landmark: for heatmap models the peak value (about 1 for a confident detection; see
   * heatmaps.DecodedLandmarks), for spatial-distribution models the probability mass near the point (0 to 1).
   */
  scores: number[];
  /** Landmarks (0-based) the shape check replaced; present when the check ran. */
  replaced?: number[];
  /** The ISBI 2015 challenge's eight measurements and their classes, for models whose landmarks are its nineteen. */
  measurements?: Measurements;
  /** The mean of `scores`: how sure the model is of this image as a whole. */
  meanScore: number;
  /** The landmarks were found on the mirrored image (the patient faces the other way); they are in the original's pixels. */
  mirrored?: true;
  /** With the plausibility check: even mirrored, the mean score is below the model's bound (not its anatomy, or unreadable). */
  implausible?: true;
  /**
   * The window of the image (original pixels, pixel edges at half-integers) the landmarks were found in, when
   * it is not the whole frame: the image frames its anatomy unlike the training images, and the second look
   * found them surer there, or the file's pixel spacing put the training frame's size in mm there.
   */
  window?: Window;
}

function positiveInt(value: unknown, what: string, source: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`${source}: ${what} must be a positive integer, got ${String(value)}`);
  return n;
}

/**
 * Landmark prediction with an exported model: read, resize to the model grid, pad to a multiple of 32,
 * run, crop, decode heatmaps, map back to original pixels. One session; `predict` may be called
 * concurrently (runs are queued by ONNX Runtime).
 */
export class Predictor {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly executionProvider: ExecutionProvider,
    readonly grid: Grid,
    readonly classes: number,
    readonly inChannels: 1 | 3,
    readonly decodeMethod: DecodeMethod,
    /** What the model outputs: 'heatmap' or 'spatial-softmax' (metadata lmk.output; older models: heatmap). */
    readonly outputKind: OutputKind,
    readonly sigma: number,
    readonly threads: number | undefined,
    readonly maxPixels: number | undefined,
    readonly metadata: Record<string, string>,
    /** The training shape the check fits; undefined when the check is off. */
    readonly shapeModel: ShapeModel | undefined,
    /** What each landmark is (`lmk.landmarks`; `landmark N` where the model stores none). */
    readonly landmarkNames: LandmarkName[],
    readonly pixelSpacingMm: number | undefined,
    /** The plausibility check; undefined when the model stores none or it is off. */
    readonly plausibility: Plausibility | undefined,
    /** How the training images frame their landmarks; undefined when the model stores none or the second look is off. */
    readonly framing: Framing | undefined,
    /** The refinement stages in turn, each with its own session, where the model has them and they are on. */
    refinements: { settings: StoredRefinement; session: ort.InferenceSession }[],
  ) {
    this.refinementSessions = refinements.map((r) => r.session);
    this.refiners = refinements.map((r, i) => new Refiner(r.settings, grid, classes, inChannels, (crops, n) => this.runCrops(crops, n, i)));
  }

  private readonly refinementSessions: ort.InferenceSession[];
  private readonly refiners: Refiner[];

  /** Whether landmarks are refined: the model has a refinement stage and it is on. */
  get refines(): boolean {
    return this.refiners.length > 0;
  }

  /** Whether predictions carry the cephalometric measurements (the model's landmarks are ISBI 2015's nineteen). */
  get measures(): boolean {
    return measuresCephalograms(this.landmarkNames.map((n) => n.code));
  }

  static async create(o: PredictorOptions): Promise<Predictor> {
    const source = typeof o.model === 'string' ? o.model : 'model';
    let bytes: Uint8Array;
    // The file's path, where the model comes from one (a pair's refinement lies beside it).
    let path: string | undefined;
    try {
      path = typeof o.model === 'string' ? resolveModelFile(o.model) : undefined;
      bytes = path !== undefined ? readFileSync(path) : (o.model as Uint8Array);
    } catch (err) {
      throw new Error((err as NodeJS.ErrnoException).code ? `${source}: cannot read the model: ${(err as Error).message}` : (err as Error).message);
    }
    if (o.pixelSpacingMm !== undefined && !(o.pixelSpacingMm > 0 && Number.isFinite(o.pixelSpacingMm))) throw new Error(`pixelSpacingMm must be a positive number, got ${o.pixelSpacingMm}`);
    let metadata: Record<string, string>;
    try {
      metadata = readModelMetadata(bytes);
    } catch {
      throw new Error(`${source}: not an ONNX model`);
    }
    const decodeMethod = o.decode ?? 'soft-argmax';
    if (!DECODE_METHODS.includes(decodeMethod)) throw new Error(`decode must be one of ${DECODE_METHODS.join(', ')}, got '${String(decodeMethod)}'`);
    const grid = o.grid ?? (metadata['lmk.grid_height'] && metadata['lmk.grid_width']
      ? { height: Number(metadata['lmk.grid_height']), width: Number(metadata['lmk.grid_width']) }
      : undefined);
    if (!grid) throw new Error(`${source}: the model does not store its grid (lmk.grid_height/lmk.grid_width); give the grid (--height/--width)`);
    positiveInt(grid.height, 'grid height', source);
    positiveInt(grid.width, 'grid width', source);
    const sigma = o.sigma ?? (metadata['lmk.sigma'] ? Number(metadata['lmk.sigma']) : 2);
    const storedShape = metadata[SHAPE_MODEL_KEY];
    if (o.shapeCheck && storedShape === undefined) throw new Error(`${source}: the shape check needs a model that stores ${SHAPE_MODEL_KEY} (written by lmk train)`);
    const shapeModel = storedShape !== undefined && o.shapeCheck !== false ? parseShapeModel(storedShape, `${source}: ${SHAPE_MODEL_KEY}`) : undefined;
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`${source}: sigma must be a positive number, got ${sigma}`);
    const classes = positiveInt(metadata['lmk.classes'], 'lmk.classes (metadata)', source);
    if (shapeModel && shapeModel.mean.length !== classes) throw new Error(`${source}: ${SHAPE_MODEL_KEY} has ${shapeModel.mean.length} landmarks, the model ${classes}`);
    const landmarkNames = parseLandmarkNames(metadata[LANDMARK_NAMES_KEY], classes, source);
    const storedPlausibility = metadata[PLAUSIBILITY_KEY];
    if (o.plausibilityCheck && storedPlausibility === undefined) throw new Error(`${source}: the plausibility check needs a model that stores ${PLAUSIBILITY_KEY}`);
    const plausibility = storedPlausibility !== undefined && o.plausibilityCheck !== false ? parsePlausibility(storedPlausibility, source) : undefined;
    const storedFraming = metadata[FRAMING_KEY];
    if (o.reframe && storedFraming === undefined) throw new Error(`${source}: the second look at other framings needs a model that stores ${FRAMING_KEY} (written by lmk train)`);
    const framing = storedFraming !== undefined && o.reframe !== false ? parseFraming(storedFraming, `${source}: ${FRAMING_KEY}`) : undefined;
    const storedRefinement = metadata[REFINE_KEY];
    if (o.refine && storedRefinement === undefined) throw new Error(`${source}: the model has no refinement stage (${REFINE_KEY}; lmk train --first-stage writes one)`);
    const chain = storedRefinement === undefined ? [] : parseRefinements(storedRefinement, source);
    const inChannels = metadata['lmk.in_channels'] === '1' ? 1 : 3;
    const output = metadata['lmk.output'] ?? 'heatmap';
    if (output !== 'heatmap' && output !== 'spatial-softmax') throw new Error(`${source}: unknown lmk.output '${output}' (this version reads 'heatmap' and 'spatial-softmax')`);
    const onCpu = (o.executionProvider ?? 'cpu') === 'cpu';
    const threads = o.threads ?? (onCpu && o.preparationWorkers !== undefined ? defaultSessionThreads(metadata, grid, o.preparationWorkers) : undefined);
    const stages = chain.length > 0 ? stagesOf(bytes, chain, path, source, o.refine !== false) : { first: bytes, refinements: [] };
    // Everything the metadata decides is checked above, before a session exists that would need releasing.
    const { session, executionProvider } = await openStage(stages.first, { ...o, threads }, source);
    const refinementSessions: ort.InferenceSession[] = [];
    try {
      // The refinements run where the first stage runs: no second fallback to the CPU.
      for (const r of stages.refinements) refinementSessions.push((await openStage(r.bytes, { ...o, threads, executionProvider, allowCpuFallback: false }, r.source)).session);
    } catch (err) {
      await Promise.all([session, ...refinementSessions].map((s) => s.release()));
      throw err;
    }
    return new Predictor(session, executionProvider, grid, classes, inChannels, decodeMethod, output, sigma, threads, o.maxPixels, metadata, shapeModel, landmarkNames, o.pixelSpacingMm, plausibility, framing,
      refinementSessions.map((s, i) => ({ settings: chain[i], session: s })));
  }

  /** How this model's inputs are prepared: for prepareImage, here or in worker threads. */
  get prepareOptions(): PrepareOptions {
    return {
      grid: this.grid, inChannels: this.inChannels, maxPixels: this.maxPixels, ...(this.framing ? { framing: this.framing } : {}),
      ...(this.refines ? { detail: Math.max(...this.refiners.map((r) => detailFor(r.settings))) } : {}),
    };
  }

  /** Read and preprocess one image (no session needed; see prepareImage for worker threads). */
  prepare(source: string | Uint8Array | DecodedImage): Promise<PreparedImage> {
    return prepareImage(source, this.prepareOptions);
  }

  /** Runs the network on prepared inputs (one batch); returns each image's heatmaps on the grid (classes x H x W). */
  async heatmaps(inputs: Float32Array[]): Promise<Float32Array[]> {
    const { height: h, width: w } = this.grid;
    const hp = paddedSize(h);
    const wp = paddedSize(w);
    const n = inputs.length;
    const c = this.inChannels;
    const plane = c * h * w;
    const batch = new Float32Array(n * plane);
    inputs.forEach((x, i) => {
      if (x.length !== plane) throw new RangeError(`input ${i} has ${x.length} values, ${c}x${h}x${w} expected`);
      batch.set(x, i * plane);
    });
    const raw = await this.run(padBottomRight(batch, n, c, h, w, hp, wp), n, hp, wp);
    const maps = cropTopLeft(raw, n, this.classes, hp, wp, h, w);
    const per = this.classes * h * w;
    return Array.from({ length: n }, (_, i) => maps.subarray(i * per, (i + 1) * per));
  }

  /** Bare session run on an N x C x H x W tensor (H, W multiples of 32): the raw heatmaps. */
  async run(tensor: Float32Array, n: number, height: number, width: number): Promise<Float32Array> {
    const image = new ort.Tensor('float32', tensor, [n, this.inChannels, height, width]);
    const out = await this.session.run({ image }, ['heatmaps']);
    return out.heatmaps.data as Float32Array;
  }

  /** Each refinement's crop side in crop pixels, in turn; empty when landmarks are not refined. */
  get refinementCrops(): number[] {
    return this.refiners.map((r) => r.settings.crop);
  }

  /** Bare run of refinement stage `stage` (0: the first) on N crops (N x C x crop x crop): their maps, N x classes x crop x crop. */
  async runCrops(tensor: Float32Array, n: number, stage = 0): Promise<Float32Array> {
    const crop = this.refinementCrops[stage];
    if (crop === undefined) throw new Error(`the model has no refinement stage ${stage + 1}, or refinement is off`);
    const image = new ort.Tensor('float32', tensor, [n, this.inChannels, crop, crop]);
    const out = await this.refinementSessions[stage].run({ image }, ['heatmaps']);
    return out.heatmaps.data as Float32Array;
  }

  /**
   * Landmarks in original pixels from one image's heatmaps on the grid, with the plausibility check where the
   * model has one: below `mirrorBelow` the image is run again mirrored (one more session run, for such images
   * only) and the better of the two kept; each pass with its second look where the image frames its landmarks
   * unlike the training images (see PredictorOptions.reframe). It is implausible where both first passes are
   * below `minMeanScore` and no second look reached `mirrorBelow`.
   */
  async landmarks(maps: Float32Array, prepared: PreparedImage): Promise<Prediction> {
    const { window } = prepared;
    const shown = (p: Prediction): Prediction => (isFrame(window, prepared.info) ? p : { ...p, window });
    // Each orientation gets its second look before they are compared: an image framed unlike the training
    // images scores low in the first pass whichever way it faces.
    const looked = async (p: Prediction) => (this.framing ? this.lookAgain(p, prepared, this.framing) : p);
    const first = shown(await this.decode(maps, prepared.info, false, window));
    let best = await looked(first);
    let bestFirst = first;
    if (this.plausibility && best.meanScore < this.plausibility.mirrorBelow) {
      const [mirroredMaps] = await this.heatmaps([mirrorInput(prepared.input, this.inChannels, this.grid)]);
      const mirrored = shown(await this.decode(mirroredMaps, prepared.info, true, mirrorWindow(window, prepared.info.width)));
      if (mirrored.meanScore > bestFirst.meanScore) bestFirst = mirrored;
      const second = await looked(mirrored);
      if (second.meanScore > best.meanScore) best = second;
    }
    if (this.plausibility) {
      // minMeanScore was calibrated on first passes over the whole frame; a look through a window (the second
      // look, or the pixel spacing's) lifts other radiographs' scores too, and has its own bound.
      const { minMeanScore, minWindowScore } = this.plausibility;
      const sure = (p: Prediction) => p.meanScore >= (p.window === undefined ? minMeanScore : minWindowScore);
      if (!sure(bestFirst) && !sure(best)) return { ...bestFirst, implausible: true };
    }
    return this.refines ? this.refined(best, prepared) : best;
  }

  /**
   * The refinement stages in turn on the chosen pass, each about the point the one before it found; the
   * scores (and so the plausibility check) stay the first stage's.
   */
  private async refined(p: Prediction, prepared: PreparedImage): Promise<Prediction> {
    const { width: W } = prepared.info;
    const mirrored = p.mirrored === true;
    const window = p.window ?? prepared.window;
    let points = facingLandmarks(p, W);
    for (const refiner of this.refiners) {
      points = (await refiner.refine(points, mirrored ? mirrorWindow(window, W) : window, prepared.detail ?? prepared.reduced, mirrored)).points;
    }
    return { ...p, ...this.placed(points, prepared.info, mirrored) };
  }

  /** The second look: the network on the window that frames `found` as the training images framed theirs. */
  private async lookAgain(found: Prediction, prepared: PreparedImage, framing: Framing): Promise<Prediction> {
    const { width: W } = prepared.info;
    const mirrored = found.mirrored === true;
    // Framing holds where the patient faces as in training: a mirrored pass's window lies in the mirrored image.
    const window = framingWindow(facingLandmarks(found, W), framing);
    if (!window || !reframes(window, mirrored ? mirrorWindow(prepared.window, W) : prepared.window)) return found;
    const inImage = mirrored ? mirrorWindow(window, W) : window;
    const grey = toNetworkInput(reducedWindowToUnitGrid(prepared.reduced, this.grid, inImage), this.grid);
    const input = this.inChannels === 3 ? grey : grey.slice(0, this.grid.height * this.grid.width);
    const [maps] = await this.heatmaps([mirrored ? mirrorInput(input, this.inChannels, this.grid) : input]);
    const again = await this.decode(maps, prepared.info, mirrored, window);
    return again.meanScore > found.meanScore ? { ...again, window: inImage } : found;
  }

  /**
   * Decodes one pass run on `window` of the image (the whole frame, or a second look's). A mirrored pass is
   * decoded, shape-checked and measured in the mirrored image's frame (where the patient faces as in
   * training; `window` lies in that frame), then its points are mirrored back: x -> W - 1 - x.
   */
  private async decode(maps: Float32Array, info: PreparedImage['info'], mirrored: boolean, window: Window): Promise<Prediction> {
    const { height: h, width: w } = this.grid;
    const decoded = this.outputKind === 'spatial-softmax'
      ? await decodeDistributionsAsync(maps, this.classes, h, w, this.sigma)
      : await decodeHeatmapsAsync(maps, this.classes, h, w, { method: this.decodeMethod, sigma: this.sigma });
    let landmarks: Point[] = [];
    for (let k = 0; k < this.classes; k++) {
      landmarks.push(fromWindowPoint([decoded.points[2 * k], decoded.points[2 * k + 1]], window, this.grid));
    }
    const scores = Array.from(decoded.scores);
    const check = this.shapeModel ? checkShape(landmarks, scores, this.shapeModel) : undefined;
    if (check) landmarks = check.points;
    const meanScore = scores.reduce((a, b) => a + b, 0) / scores.length;
    return {
      width: info.width, height: info.height, scores, meanScore, ...this.placed(landmarks, info, mirrored),
      ...(check ? { replaced: check.replaced } : {}), ...(mirrored ? { mirrored: true as const } : {}),
    };
  }

  /**
   * What follows from landmarks found where the patient faces as in training: their pixels in the image
   * (mirrored back for a mirrored pass: x -> W - 1 - x), in mm where the spacing is known, and the measurements.
   */
  private placed(facing: Point[], info: PreparedImage['info'], mirrored: boolean): Pick<Prediction, 'landmarks' | 'landmarksMm' | 'measurements'> {
    const spacing = info.pixelSpacingMm ?? (this.pixelSpacingMm ? [this.pixelSpacingMm, this.pixelSpacingMm] : undefined);
    // Cephalograms are taken with square pixels; where a file says otherwise, MW takes their mean.
    const measurements = this.measures ? cephalometricMeasurements(facing, spacing ? (spacing[0] + spacing[1]) / 2 : undefined) : undefined;
    const landmarks = mirrored ? facing.map(([x, y]): Point => [info.width - 1 - x, y]) : facing;
    return {
      landmarks, ...(measurements ? { measurements } : {}),
      ...(spacing ? { landmarksMm: landmarks.map(([x, y]): Point => [x * spacing[1], y * spacing[0]]) } : {}),
    };
  }

  /** Why an implausible prediction is refused, in one line (undefined for a plausible one). */
  refusal(p: Prediction): string | undefined {
    if (!p.implausible || !this.plausibility) return undefined;
    return `not a ${this.plausibility.anatomy} (mean landmark score ${p.meanScore.toFixed(2)}, mirrored too; the model's images score at least ${this.plausibility.minMeanScore})`;
  }

  /** Landmarks for one image file, its bytes, or an already decoded image. */
  async predict(source: string | Uint8Array | DecodedImage): Promise<Prediction> {
    const prepared = await this.prepare(source);
    const [maps] = await this.heatmaps([prepared.input]);
    return this.landmarks(maps, prepared);
  }

  async release(): Promise<void> {
    await this.session.release();
    await Promise.all(this.refinementSessions.map((s) => s.release()));
  }
}

/** A session on one stage's graph, which must be an lmk model's (input 'image', output 'heatmaps'). */
async function openStage(bytes: Uint8Array, o: SessionOptions, source: string): Promise<{ session: ort.InferenceSession; executionProvider: ExecutionProvider }> {
  let opened;
  try {
    opened = await openSession(bytes, o);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  const { session } = opened;
  if (!session.inputNames.includes('image') || !session.outputNames.includes('heatmaps')) {
    await session.release();
    throw new Error(`${source}: expected an lmk model with input 'image' and output 'heatmaps', found inputs [${session.inputNames}] and outputs [${session.outputNames}]`);
  }
  return opened;
}

/** A window of an image of width W as a window of its mirror image (pixel edges mirror as e -> W - 1 - e), and back. */
function mirrorWindow(w: Window, width: number): Window {
  return { ...w, left: width - 1 - w.left - w.width };
}

function isFrame(w: Window, image: { width: number; height: number }): boolean {
  return w.left === -0.5 && w.top === -0.5 && w.width === image.width && w.height === image.height;
}

/** The network input of the mirrored image: each row of each channel reversed (the grid mapping is symmetric). */
export function mirrorInput(input: Float32Array, channels: number, grid: Grid): Float32Array {
  const { height: h, width: w } = grid;
  const out = new Float32Array(input.length);
  for (let row = 0; row < channels * h; row++) {
    const at = row * w;
    for (let x = 0; x < w; x++) out[at + x] = input[at + w - 1 - x];
  }
  return out;
}

function parsePlausibility(text: string, source: string): Plausibility {
  let p: Partial<Plausibility>;
  try {
    p = JSON.parse(text) as Partial<Plausibility>;
  } catch {
    throw new Error(`${source}: ${PLAUSIBILITY_KEY} is not JSON`);
  }
  // Scores are 0-1 for spatial distributions, about 1 at a confident heatmap peak.
  const unit = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const mirrorBelow = p.mirrorBelow ?? p.minMeanScore;
  const minWindowScore = p.minWindowScore ?? mirrorBelow;
  if (typeof p.anatomy !== 'string' || !p.anatomy || !unit(p.minMeanScore) || !unit(mirrorBelow) || mirrorBelow! < p.minMeanScore!
    || !unit(minWindowScore) || minWindowScore! < p.minMeanScore!) {
    throw new Error(`${source}: ${PLAUSIBILITY_KEY} must be {"anatomy": name, "minMeanScore": a score >= 0, "mirrorBelow": a score >= minMeanScore, "minWindowScore"?: a score >= minMeanScore}`);
  }
  return { anatomy: p.anatomy, minMeanScore: p.minMeanScore!, mirrorBelow: mirrorBelow!, minWindowScore: minWindowScore! };
}

/** A prediction's landmarks where the patient faces as in training (a mirrored pass's: in the mirrored image). */
function facingLandmarks(p: Prediction, width: number): Point[] {
  return p.mirrored ? p.landmarks.map(([x, y]): Point => [width - 1 - x, y]) : p.landmarks;
}
