import { checkDimensions, ImageReadError, lumaOf } from './errors';
import { DecodedImage, ImageInfo } from './types';

/** Windows BMP, which sharp does not read: 8-bit palette, 24-bit BGR, 32-bit BGRX/bitfields; bottom-up or top-down. */

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  dataOffset: number;
  stride: number;
  /** Grey value of each palette entry (8-bit images). */
  palette?: Float32Array;
  /** Channel masks for 32-bit bitfields images, as [red, green, blue]. */
  masks?: [number, number, number];
}

function readHeader(buf: Buffer, source: string): BmpHeader {
  const fail = (problem: string): never => { throw new ImageReadError(source, problem); };
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM') fail('not a BMP file');
  const dataOffset = buf.readUInt32LE(10);
  const dibSize = buf.readUInt32LE(14);
  let width: number;
  let height: number;
  let bitsPerPixel: number;
  let compression = BI_RGB;
  let coloursUsed = 0;
  let paletteEntrySize = 4;
  if (dibSize === 12) {
    width = buf.readUInt16LE(18);
    height = buf.readInt16LE(20);
    bitsPerPixel = buf.readUInt16LE(24);
    paletteEntrySize = 3;
  } else if (dibSize >= 40) {
    if (buf.length < 14 + 40) fail('truncated BMP header');
    width = buf.readInt32LE(18);
    height = buf.readInt32LE(22);
    bitsPerPixel = buf.readUInt16LE(28);
    compression = buf.readUInt32LE(30);
    coloursUsed = buf.readUInt32LE(46);
  } else {
    return fail(`unsupported BMP header size ${dibSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (![8, 24, 32].includes(bitsPerPixel)) fail(`unsupported BMP depth of ${bitsPerPixel} bits (8, 24 and 32 are read)`);
  const bitfields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (!(compression === BI_RGB || (bitfields && bitsPerPixel === 32))) fail(`unsupported BMP compression ${compression}`);
  const stride = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  const header: BmpHeader = { width, height, topDown, bitsPerPixel, dataOffset, stride };
  if (bitsPerPixel === 8) {
    const count = coloursUsed || 256;
    const start = 14 + dibSize;
    if (count > 256 || start + count * paletteEntrySize > buf.length) fail('truncated or invalid BMP palette');
    header.palette = new Float32Array(256);
    for (let i = 0; i < count; i++) {
      const at = start + i * paletteEntrySize;
      header.palette[i] = lumaOf(buf[at + 2], buf[at + 1], buf[at]);
    }
  }
  if (bitfields) {
    // Masks follow a 40-byte header as three extra words, or sit inside a V4/V5 header at the same place.
    if (buf.length < 14 + 40 + 12) fail('truncated BMP bitfield masks');
    header.masks = [buf.readUInt32LE(54), buf.readUInt32LE(58), buf.readUInt32LE(62)];
  }
  return header;
}

export function readBmpInfo(buf: Buffer, source: string): ImageInfo {
  const h = readHeader(buf, source);
  return { format: 'bmp', width: h.width, height: h.height, bitsStored: 8, photometric: h.bitsPerPixel === 8 ? 'PALETTE' : 'RGB' };
}

/** The value of one channel selected by `mask`, scaled to 0..255. */
function maskedChannel(pixel: number, mask: number): number {
  if (mask === 0) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (((pixel & mask) >>> shift) * 255) / max;
}

export function decodeBmp(buf: Buffer, source: string, maxPixels: number): DecodedImage {
  const h = readHeader(buf, source);
  checkDimensions(source, h.width, h.height, maxPixels);
  if (h.dataOffset + h.stride * h.height > buf.length) {
    throw new ImageReadError(source, `truncated BMP: pixel data needs ${h.dataOffset + h.stride * h.height} bytes, file has ${buf.length}`);
  }
  const data = new Float32Array(h.width * h.height);
  for (let y = 0; y < h.height; y++) {
    const rowStart = h.dataOffset + (h.topDown ? y : h.height - 1 - y) * h.stride;
    const out = y * h.width;
    if (h.bitsPerPixel === 8) {
      const palette = h.palette!;
      for (let x = 0; x < h.width; x++) data[out + x] = palette[buf[rowStart + x]];
    } else if (h.bitsPerPixel === 24) {
      for (let x = 0, at = rowStart; x < h.width; x++, at += 3) data[out + x] = lumaOf(buf[at + 2], buf[at + 1], buf[at]);
    } else if (h.masks) {
      const [rm, gm, bm] = h.masks;
      for (let x = 0, at = rowStart; x < h.width; x++, at += 4) {
        const p = buf.readUInt32LE(at);
        data[out + x] = lumaOf(maskedChannel(p, rm), maskedChannel(p, gm), maskedChannel(p, bm));
      }
    } else {
      for (let x = 0, at = rowStart; x < h.width; x++, at += 4) data[out + x] = lumaOf(buf[at + 2], buf[at + 1], buf[at]);
    }
  }
  return { ...readBmpInfo(buf, source), data, valueRange: [0, 255] };
}
