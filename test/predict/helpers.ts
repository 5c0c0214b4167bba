import { mkdirSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import { deflateSync } from 'zlib';
import { GraphBuilder, serializeModel } from '../../src/onnx';

/**
 * A stand-in network with `classes` identical heatmaps, each the input's first channel (a 1x1 conv):
 * every landmark is the brightest spot of the image, so predictions can be checked against a drawn dot.
 */
export function brightestSpotModel(classes: number, grid = { height: 64, width: 48 }, metadata: Record<string, string> = {}): Uint8Array {
  const g = new GraphBuilder('spot');
  const x = g.input('image', 'float32', ['N', 3, 'H', 'W']);
  const weights = new Float32Array(classes * 3);
  for (let k = 0; k < classes; k++) weights[k * 3] = 1;
  const w = g.initializer('w', { dataType: 'float32', dims: [classes, 3, 1, 1], data: weights });
  g.output(g.conv(x, w, undefined), 'heatmaps', 'float32', ['N', classes, 'H', 'W']);
  return serializeModel(g.build({
    'lmk.classes': String(classes), 'lmk.in_channels': '3', 'lmk.grid_height': String(grid.height), 'lmk.grid_width': String(grid.width), 'lmk.sigma': '2',
    ...metadata,
  }));
}

/** A grey image with one Gaussian dot at (cx, cy). */
export async function dotImage(width: number, height: number, cx: number, cy: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  const sigma = Math.max(width, height) / 30;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) px[y * width + x] = Math.round(255 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)));
  }
  const image = sharp(px, { raw: { width, height, channels: 1 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 95 }).toBuffer();
}

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header declaring width x height 8-bit grey pixels, with a little compressed data: a decompression bomb's shape. */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(64 * 1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface ArchiveFixture {
  dir: string;
  /** Good images: relative path -> the dot's position. */
  good: Map<string, [number, number]>;
  /** Bad inputs (relative paths), one errors.jsonl line each. */
  bad: string[];
}

/**
 * A folder tree of good dot images and the bad inputs of issue #7: a truncated JPEG, a zero-byte DICOM,
 * random bytes named .png, text named .bmp, a PNG declaring 100000x100000 pixels, and an unreadable
 * entry. Tests run as root, which reads a chmod 000 file anyway, so the unreadable entry is a dangling
 * symlink (open fails with ENOENT).
 */
export async function makeArchive(dir: string): Promise<ArchiveFixture> {
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  const good = new Map<string, [number, number]>([
    ['a.png', [40.3, 70.6]],
    ['sub/b.jpg', [150.2, 30.8]],
    ['sub/deeper/c.png', [20.5, 100.1]],
  ]);
  for (const [rel, [x, y]] of good) writeFileSync(join(dir, rel), await dotImage(180, 120, x, y, rel.endsWith('.jpg') ? 'jpeg' : 'png'));
  const jpeg = await dotImage(180, 120, 90, 60, 'jpeg');
  writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(join(dir, 'sub', 'empty.dcm'), Buffer.alloc(0));
  writeFileSync(join(dir, 'random.png'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
  writeFileSync(join(dir, 'notes.bmp'), 'these are notes, not a bitmap\n');
  writeFileSync(join(dir, 'sub', 'bomb.png'), bombPng(100000, 100000));
  symlinkSync(join(dir, 'gone.png'), join(dir, 'sub', 'unreadable.png'));
  // Not images and without an image's first bytes: not offered at all.
  writeFileSync(join(dir, 'README.txt'), 'not an image');
  writeFileSync(join(dir, 'LICENSE'), 'not an image either');
  return { dir, good, bad: ['truncated.jpg', 'sub/empty.dcm', 'random.png', 'notes.bmp', 'sub/bomb.png', 'sub/unreadable.png'] };
}
