import { ImageFormat } from './types';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  if (start >= bytes.length) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.max(0, Math.min(end, bytes.length) - start)).toString('latin1');
}

/**
 * A DICOM data set without the Part-10 preamble: it starts with an element of group 0002 or 0008
 * (the lowest groups a stored image has), in explicit VR (two upper-case letters after the tag)
 * or implicit VR (a 32-bit length that fits the file).
 */
export function rawDicomSyntax(bytes: Uint8Array): 'explicit' | 'implicit' | undefined {
  if (bytes.length < 8) return undefined;
  const group = bytes[0] | (bytes[1] << 8);
  if (group !== 0x0002 && group !== 0x0008) return undefined;
  const isUpper = (b: number): boolean => b >= 0x41 && b <= 0x5a;
  if (isUpper(bytes[4]) && isUpper(bytes[5])) return 'explicit';
  const length = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16)) + bytes[7] * 0x1000000;
  return length <= bytes.length - 8 || length === 0xffffffff ? 'implicit' : undefined;
}

/** The image format by content (magic bytes), never by file name. */
export function detectFormat(bytes: Uint8Array): ImageFormat | undefined {
  // First: PS3.10 lets the 128-byte preamble hold another format's header (dual-format files, often TIFF).
  if (ascii(bytes, 128, 132) === 'DICM') return 'dicom';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 18) return 'bmp';
  if (/^\s*(ObjectType|NDims|ObjectSubType|Comment)\s*=/.test(ascii(bytes, 0, 64))) return 'mha';
  if (rawDicomSyntax(bytes)) return 'dicom';
  return undefined;
}
