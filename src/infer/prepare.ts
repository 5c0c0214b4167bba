import { DecodedImage, ImageInfo, ReducedImage } from '../io';
import { coarsenForGrid, frameWindow, Grid, readForGrid, reduceForGrid, reducedToUnitGrid, reducedWindowToUnitGrid, toNetworkInput, Window } from '../data';
import { Framing, spacingWindow } from '../shape/framing';

/** An image ready for the network: its header facts and the input tensor on the model grid. */
export interface PreparedImage {
  info: Pick<ImageInfo, 'width' | 'height' | 'pixelSpacingMm' | 'format'>;
  /** inChannels x grid.height x grid.width, CHW. */
  input: Float32Array;
  /** The reduced decode the input was made from: a second look at a window of the image reads it again. */
  reduced: ReducedImage;
  /** The finer decode a refinement stage crops from (PrepareOptions.detail); `reduced` is made from it. */
  detail?: ReducedImage;
  /** The part of the image the input shows (original pixels, pixel edges at half-integers): mostly the whole frame. */
  window: Window;
}

export interface PrepareOptions {
  grid: Grid;
  inChannels: 1 | 3;
  maxPixels?: number;
  /** The model's framing (`lmk.framing`): a file that states its pixel spacing is first seen at the training frame's size in mm. */
  framing?: Framing;
  /** Grid resolutions the decode keeps (default 2; a refinement stage's crops need more: src/refine). */
  detail?: number;
}

/**
 * Read -> model input, by the one input path that training uses too (src/data/grid.ts: a reduced decode,
 * then the grid). 3-channel models get the grey image replicated and ImageNet-normalised; 1-channel
 * models get the first (red-normalised) of those channels, as smp's summed first conv expects.
 * Pure CPU work with no session: worker threads run it while the main thread runs the network.
 */
export async function prepareImage(source: string | Uint8Array | DecodedImage, o: PrepareOptions): Promise<PreparedImage> {
  const reduced = isDecoded(source) ? reduceForGrid(source, o.grid, o.detail) : await readForGrid(source, o.grid, { maxPixels: o.maxPixels, detail: o.detail });
  return prepareReduced(reduced, o);
}

/** The preprocess stage alone: a reduced image (from `readForGrid`) -> the network input. */
export function prepareReduced(read: ReducedImage, o: PrepareOptions): PreparedImage {
  const image = coarsenForGrid(read, o.grid);
  const inMm = o.framing && spacingWindow(image.info, o.framing);
  const full = toNetworkInput(inMm ? reducedWindowToUnitGrid(image, o.grid, inMm) : reducedToUnitGrid(image, o.grid), o.grid);
  const input = o.inChannels === 3 ? full : full.slice(0, o.grid.height * o.grid.width);
  const { width, height, pixelSpacingMm, format } = image.info;
  return { info: { width, height, pixelSpacingMm, format }, input, reduced: image, ...(o.detail ? { detail: read } : {}), window: inMm ?? frameWindow(image.info) };
}

function isDecoded(source: string | Uint8Array | DecodedImage): source is DecodedImage {
  return typeof source === 'object' && !(source instanceof Uint8Array) && 'data' in source && 'valueRange' in source;
}
