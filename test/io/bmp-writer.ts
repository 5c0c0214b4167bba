/** Writes small Windows BMP files for tests: 8-bit palette, 24-bit and 32-bit, either row order. */

/** Grey test pattern value at (x, y). */
export const grey = (x: number, y: number): number => (x * 37 + y * 11) % 256;

export interface BmpOptions { width: number; height: number; bits: 8 | 24 | 32; topDown?: boolean; bitfields?: boolean; coreHeader?: boolean }

/** Writes a BMP whose pixels are grey(x, y) (as palette indices, or equal B, G, R). */
export function makeBmp(o: BmpOptions): Buffer {
  const stride = Math.floor((o.bits * o.width + 31) / 32) * 4;
  const dibSize = o.coreHeader ? 12 : 40;
  const paletteSize = o.bits === 8 ? 256 * (o.coreHeader ? 3 : 4) : 0;
  const masksSize = o.bitfields ? 12 : 0;
  const offset = 14 + dibSize + masksSize + paletteSize;
  const buf = Buffer.alloc(offset + stride * o.height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(dibSize, 14);
  if (o.coreHeader) {
    buf.writeUInt16LE(o.width, 18);
    buf.writeInt16LE(o.topDown ? -o.height : o.height, 20);
    buf.writeUInt16LE(1, 22);
    buf.writeUInt16LE(o.bits, 24);
  } else {
    buf.writeInt32LE(o.width, 18);
    buf.writeInt32LE(o.topDown ? -o.height : o.height, 22);
    buf.writeUInt16LE(1, 26);
    buf.writeUInt16LE(o.bits, 28);
    buf.writeUInt32LE(o.bitfields ? 3 : 0, 30);
  }
  if (o.bitfields) {
    // Red in the low byte, blue high: a layout that differs from plain BGRX.
    buf.writeUInt32LE(0x000000ff, 54);
    buf.writeUInt32LE(0x0000ff00, 58);
    buf.writeUInt32LE(0x00ff0000, 62);
  }
  const paletteStart = 14 + dibSize + masksSize;
  for (let i = 0; o.bits === 8 && i < 256; i++) {
    // Palette index i is grey 255 - i, so that index and value differ.
    const at = paletteStart + i * (o.coreHeader ? 3 : 4);
    buf[at] = buf[at + 1] = buf[at + 2] = 255 - i;
  }
  for (let y = 0; y < o.height; y++) {
    const row = offset + (o.topDown ? y : o.height - 1 - y) * stride;
    for (let x = 0; x < o.width; x++) {
      const v = grey(x, y);
      if (o.bits === 8) buf[row + x] = 255 - v;
      else if (o.bits === 24) buf[row + 3 * x] = buf[row + 3 * x + 1] = buf[row + 3 * x + 2] = v;
      else buf.writeUInt32LE(v * 0x010101, row + 4 * x);
    }
  }
  return buf;
}
