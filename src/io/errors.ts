/** A file that cannot be read as an image: the message names the file and the problem in one line. */
export class ImageReadError extends Error {
  override name = 'ImageReadError';
  constructor(readonly source: string, problem: string) {
    super(`${source}: ${problem}`);
  }
}

/** sharp's default limitInputPixels (0x3FFF x 0x3FFF). */
export const DEFAULT_MAX_PIXELS = 268402689;

/** Throws before any pixel memory is taken when a declared size is invalid or over the limit. */
export function checkDimensions(source: string, width: number, height: number, maxPixels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageReadError(source, `invalid image size ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new ImageReadError(source, `image of ${width}x${height} pixels exceeds the limit of ${maxPixels} pixels`);
  }
}

/** Luma (ITU-R BT.601) of interleaved samples; identical channels give back the same value exactly. */
export function lumaOf(r: number, g: number, b: number): number {
  return r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
}
