import { readImage, DecodedImage, ImageInfo } from '../io';
import { Grid, toModelInput } from '../data';

/** An image ready for the network: its header facts and the input tensor on the model grid. */
export interface PreparedImage {
  info: Pick<ImageInfo, 'width' | 'height' | 'pixelSpacingMm' | 'format'>;
  /** inChannels x grid.height x grid.width, CHW. */
  input: Float32Array;
}

export interface PrepareOptions {
  grid: Grid;
  inChannels: 1 | 3;
  maxPixels?: number;
}

/**
 * Read -> model input. 3-channel models get the grey image replicated and ImageNet-normalised;
 * 1-channel models get the first (red-normalised) of those channels, as smp's summed first conv expects.
 * Pure CPU work with no session: worker threads run it while the main thread runs the network.
 */
export async function prepareImage(source: string | Uint8Array | DecodedImage, o: PrepareOptions): Promise<PreparedImage> {
  const image = isDecoded(source) ? source : await readImage(source, { maxPixels: o.maxPixels });
  const full = toModelInput(image, o.grid);
  const input = o.inChannels === 3 ? full : full.slice(0, o.grid.height * o.grid.width);
  return { info: { width: image.width, height: image.height, pixelSpacingMm: image.pixelSpacingMm, format: image.format }, input };
}

function isDecoded(source: string | Uint8Array | DecodedImage): source is DecodedImage {
  return typeof source === 'object' && !(source instanceof Uint8Array) && 'data' in source && 'valueRange' in source;
}
