import { promises as fsp } from 'fs';
import { decodeBmp, readBmpInfo } from './bmp';
import { detectFormat } from './detect';
import { decodeDicom, readDicomInfo } from './dicom';
import { checkDimensions, DEFAULT_MAX_PIXELS, ImageReadError } from './errors';
import { decodeMha, readMhaInfo } from './mha';
import { describeDisplay } from './display';
import { decodeWithSharp, readSharpInfo } from './sharp-image';
import { DecodedImage, ImageFormat, ImageInfo, ImageInspection, ReadImageOptions, ReadReducedOptions, ReducedImage } from './types';

/** Enough for any BMP or MetaImage header and for format detection. */
const HEADER_BYTES = 64 * 1024;

async function readWhole(path: string): Promise<Buffer> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    throw new ImageReadError(path, describeFsError(err));
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a directory, not an image file';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

function formatOf(bytes: Uint8Array, source: string): ImageFormat {
  if (bytes.length === 0) throw new ImageReadError(source, 'empty file (0 bytes)');
  const format = detectFormat(bytes);
  if (!format) throw new ImageReadError(source, 'unrecognised image format (not JPEG, PNG, TIFF, WebP, BMP, MetaImage or DICOM)');
  return format;
}

function validateOptions(options: ReadImageOptions): number {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 1) throw new RangeError(`maxPixels must be a positive integer, got ${options.maxPixels}`);
  return maxPixels;
}

async function decode(buf: Buffer, source: string, maxPixels: number, path?: string): Promise<DecodedImage & { stored?: Float32Array }> {
  const format = formatOf(buf, source);
  switch (format) {
    case 'bmp': return decodeBmp(buf, source, maxPixels);
    case 'mha': return decodeMha(buf, source, maxPixels, path);
    case 'dicom': return decodeDicom(buf, source, maxPixels);
    default: {
      const { shrink: _shrink, ...image } = await decodeWithSharp(buf, format, source, maxPixels);
      return image;
    }
  }
}

/**
 * Decodes any supported image (format by content, not name) to one grey float channel plus metadata.
 * Sizes over `maxPixels` are refused from the header, before pixel memory is taken.
 */
export async function readImage(input: string | Uint8Array, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const maxPixels = validateOptions(options);
  const { stored: _stored, ...image } = typeof input === 'string'
    ? await decode(await readWhole(input), input, maxPixels, input)
    : await decode(Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength), '<buffer>', maxPixels);
  return image;
}

/** The largest of 8, 4, 2, 1 that keeps at least min columns and rows. */
export function shrinkFactor(width: number, height: number, minWidth: number, minHeight: number): number {
  for (const s of [8, 4, 2]) if (Math.floor(width / s) >= minWidth && Math.floor(height / s) >= minHeight) return s;
  return 1;
}

/** Box means over shrink x shrink blocks; a partial last column or row is dropped (as libjpeg's scaling in libvips). */
export function reduceImage(image: Pick<DecodedImage, 'width' | 'height' | 'data' | 'valueRange' | 'display'> & Partial<ImageInfo>, shrink: number): ReducedImage {
  const { data: _data, valueRange: _range, display, ...rest } = image;
  // A caller's partial image (size and values only) has no other header facts to carry.
  const info = rest as ImageInfo;
  const shown = display ? { display } : {};
  if (shrink === 1) return { info, shrink, width: image.width, height: image.height, data: image.data, valueRange: image.valueRange, ...shown };
  const width = Math.floor(image.width / shrink);
  const height = Math.floor(image.height / shrink);
  const data = new Float32Array(width * height);
  const src = image.data;
  const W = image.width;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let dy = 0; dy < shrink; dy++) {
      const from = (y * shrink + dy) * W;
      for (let x = 0, at = from; x < width; x++) {
        let acc = 0;
        for (let dx = 0; dx < shrink; dx++, at++) acc += src[at];
        data[row + x] += acc;
      }
    }
  }
  const inv = 1 / (shrink * shrink);
  for (let i = 0; i < data.length; i++) data[i] *= inv;
  return { info, shrink, width, height, data, valueRange: image.valueRange, ...shown };
}

async function readHeader(path: string): Promise<Buffer> {
  try {
    const handle = await fsp.open(path, 'r');
    try {
      const buffer = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, HEADER_BYTES, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new ImageReadError(path, describeFsError(err));
  }
}

/**
 * Decodes an image at reduced size for a grid of at most min/2 per side (see ReducedImage). JPEG files
 * given by path are shrunk by libjpeg while decoding; everything else (JPEG bytes included) is decoded
 * whole and box-reduced, which differs from libjpeg's scaling by rounding only.
 */
export async function readImageReduced(input: string | Uint8Array, options: ReadReducedOptions): Promise<ReducedImage> {
  const maxPixels = validateOptions(options);
  if (typeof input === 'string' && formatOf(await readHeader(input), input) === 'jpeg') {
    const info = await readSharpInfo(input, 'jpeg', input);
    checkDimensions(input, info.width, info.height, maxPixels);
    const shrink = shrinkFactor(info.width, info.height, options.minWidth, options.minHeight);
    const { data, width, height, valueRange, shrink: done, ...header } = await decodeWithSharp(input, 'jpeg', input, maxPixels, shrink);
    return { info: { ...header, width: info.width, height: info.height }, shrink: done, width, height, data, valueRange };
  }
  const image = await readImage(input, options);
  return reduceImage(image, shrinkFactor(image.width, image.height, options.minWidth, options.minHeight));
}

/** Size and metadata from the file's header, without decoding pixels (cheap enough for listing data sets). */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  const head = await readHeader(path);
  const format = formatOf(head, path);
  switch (format) {
    case 'bmp': return readBmpInfo(head, path);
    case 'mha': return readMhaInfo(head, path);
    case 'dicom': return readDicomInfo(head.length < HEADER_BYTES ? head : await readWhole(path), path);
    default: return readSharpInfo(path, format, path);
  }
}

/** What `lmk inspect` reports: header facts and statistics of the stored values (before LUT, rescale, inversion). */
export async function inspectImage(path: string, options: ReadImageOptions = {}): Promise<ImageInspection> {
  const maxPixels = validateOptions(options);
  const image = await decode(await readWhole(path), path, maxPixels, path);
  const values = image.stored ?? image.data;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return {
    width: image.width,
    height: image.height,
    bitsStored: image.bitsStored,
    photometric: image.photometric,
    modality: image.modality ?? null,
    transferSyntax: image.transferSyntax ?? null,
    pixelSpacingMm: image.pixelSpacingMm ?? null,
    window: describeDisplay(image.display, image.valueRange),
    stats: { min, max, mean: sum / values.length },
  };
}
