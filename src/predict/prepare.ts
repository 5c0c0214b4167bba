import sharp from 'sharp';
import { readForGrid } from '../data/grid';
import { displayFunction, ReducedImage } from '../io';
// The module itself, not ../infer: workers need no ONNX Runtime.
import { prepareReduced, PreparedImage, PrepareOptions } from '../infer/prepare';

/** An 8-bit grey copy of the image, scaled down to fit `previewSize`, for drawing overlays. */
export interface GreyPreview {
  data: Uint8Array;
  width: number;
  height: number;
  /** Original pixels per preview pixel, along x and y. */
  scaleX: number;
  scaleY: number;
}

export interface PrepareTaskOptions extends PrepareOptions {
  /** Longest side of a preview to return with the input (none when undefined). */
  previewSize?: number;
}

/** A prepared image with the time its two stages took (milliseconds of work, no queueing). */
export interface TimedPreparedImage extends PreparedImage {
  decodeMs: number;
  preprocessMs: number;
  preview?: GreyPreview;
}

/** From the reduced image the grid was made from (it keeps twice the grid's resolution). */
async function greyPreview(image: ReducedImage, maxSide: number): Promise<GreyPreview> {
  const grey = displayFunction(image.valueRange, image.display);
  const bytes = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(grey(image.data[i]) * 255);
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const data = await sharp(bytes, { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(width, height, { fit: 'fill' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  // A copy with its own ArrayBuffer, so that a worker can transfer it.
  return { data: new Uint8Array(data), width, height, scaleX: image.info.width / width, scaleY: image.info.height / height };
}

/**
 * Read (decode) and preprocess (resize to the grid, normalise) one image, timing each stage. The same
 * function runs in the worker threads and, with no workers, on the calling thread.
 */
export async function prepareTimed(source: string | Uint8Array, o: PrepareTaskOptions): Promise<TimedPreparedImage> {
  const t0 = performance.now();
  const image = await readForGrid(source, o.grid, { maxPixels: o.maxPixels, detail: o.detail });
  const t1 = performance.now();
  const prepared = prepareReduced(image, o);
  const t2 = performance.now();
  const preview = o.previewSize ? await greyPreview(image, o.previewSize) : undefined;
  return { ...prepared, decodeMs: t1 - t0, preprocessMs: t2 - t1, preview };
}
