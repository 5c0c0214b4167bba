import { deflateRawSync } from 'zlib';

/**
 * A small DICOM writer for tests and fixture generation: explicit or implicit VR little endian data sets,
 * native or encapsulated pixel data, optional Part-10 preamble and meta header, optional deflate.
 */

export type Value = string | Buffer | { items: Element[][] };

export interface Element {
  /** (group << 16) | element */
  tag: number;
  vr: string;
  value: Value;
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'SQ', 'UT', 'UN', 'UC', 'UR']);

export const us = (tag: number, ...values: number[]): Element => {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
  return { tag, vr: 'US', value: b };
};
export const str = (tag: number, vr: string, text: string): Element => ({ tag, vr, value: text });

function pad(value: Buffer | string, vr: string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from([vr === 'UI' || vr === 'OB' ? 0 : typeof value === 'string' ? 0x20 : 0])]);
}

function tagBytes(tag: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  return b;
}

function encodeElement(e: Element, implicit: boolean): Buffer {
  let body: Buffer;
  if (typeof e.value === 'object' && !Buffer.isBuffer(e.value)) {
    body = Buffer.concat(e.value.items.map((item) => {
      const content = Buffer.concat(item.map((x) => encodeElement(x, implicit)));
      const head = Buffer.alloc(8);
      head.writeUInt16LE(0xfffe, 0);
      head.writeUInt16LE(0xe000, 2);
      head.writeUInt32LE(content.length, 4);
      return Buffer.concat([head, content]);
    }));
  } else {
    body = pad(e.value, e.vr);
  }
  if (implicit) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length, 0);
    return Buffer.concat([tagBytes(e.tag), len, body]);
  }
  if (LONG_VRS.has(e.vr)) {
    const head = Buffer.alloc(8);
    head.write(e.vr, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([tagBytes(e.tag), head, body]);
  }
  const head = Buffer.alloc(4);
  head.write(e.vr, 0, 'latin1');
  head.writeUInt16LE(body.length, 2);
  return Buffer.concat([tagBytes(e.tag), head, body]);
}

/** Encapsulated pixel data: an empty basic offset table, then one fragment per buffer, then the delimiter. */
function encapsulated(fragments: Buffer[]): Buffer {
  const item = (data: Buffer): Buffer => {
    const padded = pad(data, 'OB');
    const head = Buffer.alloc(8);
    head.writeUInt16LE(0xfffe, 0);
    head.writeUInt16LE(0xe000, 2);
    head.writeUInt32LE(padded.length, 4);
    return Buffer.concat([head, padded]);
  };
  const head = Buffer.concat([tagBytes(0x7fe00010), Buffer.from('OB\0\0', 'latin1'), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  const end = Buffer.alloc(8);
  end.writeUInt16LE(0xfffe, 0);
  end.writeUInt16LE(0xe0dd, 2);
  return Buffer.concat([head, item(Buffer.alloc(0)), ...fragments.map(item), end]);
}

export interface DicomSpec {
  transferSyntax: string;
  /** Data set elements other than pixel data, in ascending tag order. */
  elements: Element[];
  /** Native pixel bytes (little endian), compressed fragments, or null for a non-image object (a report, say). */
  pixels: Buffer | { fragments: Buffer[] } | null;
  /** Part-10 preamble and meta header (default true). */
  part10?: boolean;
  /** The 128-byte preamble (default zeros). */
  preamble?: Buffer;
  /** The meta header's SOP class and instance (default CR Image Storage, 1.2.3.4.5.6.7). */
  mediaStorage?: { sopClassUid: string; sopInstanceUid: string };
}

export function writeDicom(spec: DicomSpec): Buffer {
  const implicit = spec.transferSyntax === '1.2.840.10008.1.2';
  const pixelElement = spec.pixels === null ? Buffer.alloc(0)
    : Buffer.isBuffer(spec.pixels) ? encodeElement({ tag: 0x7fe00010, vr: 'OW', value: spec.pixels }, implicit)
      : encapsulated(spec.pixels.fragments);
  let dataSet = Buffer.concat([...spec.elements.map((e) => encodeElement(e, implicit)), pixelElement]);
  if (spec.transferSyntax === '1.2.840.10008.1.2.1.99') dataSet = deflateRawSync(dataSet);
  if (spec.part10 === false) return dataSet;
  const meta = Buffer.concat([
    encodeElement({ tag: 0x00020001, vr: 'OB', value: Buffer.from([0, 1]) }, false),
    encodeElement(str(0x00020002, 'UI', spec.mediaStorage?.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.1'), false),
    encodeElement(str(0x00020003, 'UI', spec.mediaStorage?.sopInstanceUid ?? '1.2.3.4.5.6.7'), false),
    encodeElement(str(0x00020010, 'UI', spec.transferSyntax), false),
    encodeElement(str(0x00020012, 'UI', '1.2.3.4'), false),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length, 0);
  const preamble = spec.preamble ?? Buffer.alloc(128);
  if (preamble.length !== 128) throw new Error(`a DICOM preamble is 128 bytes, got ${preamble.length}`);
  return Buffer.concat([preamble, Buffer.from('DICM'), encodeElement({ tag: 0x00020000, vr: 'UL', value: groupLength }, false), meta, dataSet]);
}

/** The image-pixel module of a single-frame grey image. */
export function greyImageElements(o: { width: number; height: number; bitsAllocated: number; bitsStored: number; photometric?: string; signed?: boolean; extra?: Element[] }): Element[] {
  const elements: Element[] = [
    str(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.1'),
    str(0x00080060, 'CS', 'CR'),
    us(0x00280002, 1),
    str(0x00280004, 'CS', o.photometric ?? 'MONOCHROME2'),
    us(0x00280010, o.height),
    us(0x00280011, o.width),
    us(0x00280100, o.bitsAllocated),
    us(0x00280101, o.bitsStored),
    us(0x00280102, o.bitsStored - 1),
    us(0x00280103, o.signed ? 1 : 0),
    ...(o.extra ?? []),
  ];
  return elements.sort((a, b) => a.tag - b.tag);
}

/**
 * A preamble that is also a little-endian TIFF header with one IFD (PS3.10 dual-format files): the TIFF's one
 * uncompressed grey strip is the `stripBytes` bytes at `stripOffset` of the whole file, the DICOM's native pixel data.
 */
export function tiffPreamble(o: { width: number; height: number; bitsPerSample: number; stripOffset: number; stripBytes: number }): Buffer {
  const SHORT = 3;
  const LONG = 4;
  const entries: [number, number, number][] = [
    [256, LONG, o.width], [257, LONG, o.height], [258, SHORT, o.bitsPerSample], [259, SHORT, 1], [262, SHORT, 1],
    [273, LONG, o.stripOffset], [277, SHORT, 1], [278, LONG, o.height], [279, LONG, o.stripBytes],
  ];
  const b = Buffer.alloc(128);
  b.write('II*\0', 0, 'latin1');
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + 12 * i;
    b.writeUInt16LE(tag, at);
    b.writeUInt16LE(type, at + 2);
    b.writeUInt32LE(1, at + 4);
    if (type === SHORT) b.writeUInt16LE(value, at + 8);
    else b.writeUInt32LE(value, at + 8);
  });
  // The next-IFD offset after the entries stays 0: one image.
  return b;
}
