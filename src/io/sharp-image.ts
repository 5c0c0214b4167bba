import sharp from 'sharp';
import { checkDimensions, ImageReadError, lumaOf } from './errors';
import { DecodedImage, ImageFormat, ImageInfo } from './types';

/** JPEG, PNG (8/16-bit), TIFF and WebP through sharp (libvips). */

function failure(source: string, err: unknown): ImageReadError {
  const message = ((err as Error).message ?? String(err)).split('\n')[0];
  return new ImageReadError(source, /pixel limit/.test(message) ? message : `corrupt or truncated image (${message})`);
}

/** Header only: sizes are checked against the caller's limit afterwards, so sharp's own limit is off here. */
async function metadataOf(input: Buffer | string, source: string): Promise<sharp.Metadata> {
  try {
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw failure(source, err);
  }
}

function infoFrom(meta: sharp.Metadata, format: ImageFormat, source: string): ImageInfo {
  const sixteen = meta.depth === 'ushort' || meta.depth === 'short';
  const channels = meta.channels ?? 1;
  if (meta.width === undefined || meta.height === undefined) throw new ImageReadError(source, 'image size missing from header');
  return { format, width: meta.width, height: meta.height, bitsStored: sixteen ? 16 : 8, photometric: channels >= 3 ? 'RGB' : 'MONOCHROME2' };
}

/** Header only; `input` may be a path, so that only the header is read from disk. */
export async function readSharpInfo(input: Buffer | string, format: ImageFormat, source: string): Promise<ImageInfo> {
  return infoFrom(await metadataOf(input, source), format, source);
}

/**
 * Decodes through libvips. A JPEG read from a path with `shrink` 2, 4 or 8 is scaled by libjpeg while it
 * decodes (its DCT scaling, much cheaper than a full decode): libvips' `[shrink=N]` load option, which
 * sharp passes through with the file name. The result is floor(W / shrink) x floor(H / shrink): pixel k
 * covers original pixels [k * shrink, (k + 1) * shrink), and a partial last column or row is dropped.
 * Other inputs decode at full size (`shrink` ignored; the caller reduces them).
 */
export async function decodeWithSharp(input: Buffer | string, format: ImageFormat, source: string, maxPixels: number, shrink = 1): Promise<DecodedImage & { shrink: number }> {
  const info = infoFrom(await metadataOf(input, source), format, source);
  checkDimensions(source, info.width, info.height, maxPixels);
  const sixteen = info.bitsStored === 16;
  const colour = info.photometric === 'RGB';
  const scaled = typeof input === 'string' && format === 'jpeg' && shrink > 1;
  // The size was checked above against the caller's limit; libvips checks the shrunk size, so its limit is off.
  let pipeline = scaled
    ? sharp(`${input}[shrink=${shrink}]`, { limitInputPixels: false, failOn: 'error' })
    : sharp(input, { limitInputPixels: maxPixels, failOn: 'error' });
  // libvips would otherwise reduce 16-bit input to 8 bits on the way to raw output.
  if (sixteen) pipeline = pipeline.toColourspace(colour ? 'rgb16' : 'grey16');
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await pipeline.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw failure(source, err);
  }
  const { width, height, channels } = raw.info;
  const count = width * height;
  const samples = sixteen ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.length / 2) : raw.data;
  const data = new Float32Array(count);
  if (channels >= 3) {
    for (let i = 0, at = 0; i < count; i++, at += channels) data[i] = lumaOf(samples[at], samples[at + 1], samples[at + 2]);
  } else {
    // Grey, or grey plus alpha: the alpha channel carries no anatomy.
    for (let i = 0, at = 0; i < count; i++, at += channels) data[i] = samples[at];
  }
  return { ...info, width, height, data, valueRange: [0, sixteen ? 65535 : 255], shrink: scaled ? shrink : 1 };
}
