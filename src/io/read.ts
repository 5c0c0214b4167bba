import { promises as fsp } from 'fs';
import { decodeBmp, readBmpInfo } from './bmp';
import { detectFormat } from './detect';
import { decodeDicom, readDicomInfo } from './dicom';
import { DEFAULT_MAX_PIXELS, ImageReadError } from './errors';
import { decodeMha, readMhaInfo } from './mha';
import { decodeWithSharp, readSharpInfo } from './sharp-image';
import { DecodedImage, ImageFormat, ImageInfo, ImageInspection, ReadImageOptions } from './types';

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
    default: return decodeWithSharp(buf, format, source, maxPixels);
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

/** Size and metadata from the file's header, without decoding pixels (cheap enough for listing data sets). */
export async function readImageInfo(path: string): Promise<ImageInfo> {
  let head: Buffer;
  try {
    const handle = await fsp.open(path, 'r');
    try {
      const buffer = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, HEADER_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new ImageReadError(path, describeFsError(err));
  }
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
    stats: { min, max, mean: sum / values.length },
  };
}
