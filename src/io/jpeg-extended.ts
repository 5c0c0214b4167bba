import { DecodedFrame } from './dicom-codecs';
import { ImageReadError } from './errors';

/**
 * Sequential Huffman JPEG (SOF0/SOF1) of one grey component at 8 or 12 bits: what DICOM's JPEG Extended
 * transfer syntax carries at 12 bits, which the 8-bit libjpeg-turbo codec cannot read. The inverse DCT is
 * libjpeg's integer "islow" (jidctint.c) step for step, so results equal libjpeg's (and dcmtk's) exactly.
 */

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];

interface HuffmanTable {
  /** Largest code of each length (1..16), -1 where none. */
  maxCode: Int32Array;
  /** Index into `values` of the first code of each length, minus that code. */
  offset: Int32Array;
  values: Uint8Array;
  /** For codes of up to LOOKAHEAD bits: (length << 8) | value, indexed by the next LOOKAHEAD bits; 0 if longer. */
  lookup: Uint16Array;
}

const LOOKAHEAD = 9;

function buildTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    offset[length] = k - code;
    for (let i = 0; i < counts[length - 1]; i++, code++, k++) {
      if (length <= LOOKAHEAD) {
        const first = code << (LOOKAHEAD - length);
        lookup.fill((length << 8) | values[k], first, first + (1 << (LOOKAHEAD - length)));
      }
    }
    if (counts[length - 1] > 0) maxCode[length] = code - 1;
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff;
  return { maxCode, offset, values, lookup };
}

/** Entropy-coded bits, MSB first, with 0xFF00 unstuffed; fewer than 24 wait in `bits`. */
class BitReader {
  private bits = 0;
  private count = 0;
  constructor(private readonly data: Uint8Array, public position: number) {}

  private fill(): void {
    let byte = 0;
    if (this.position < this.data.length) {
      byte = this.data[this.position];
      if (byte === 0xff) {
        const next = this.data[this.position + 1];
        if (next === 0x00) this.position += 2;
        else byte = 0; // a marker: libjpeg pads with zeros rather than read past it
      } else {
        this.position++;
      }
    }
    this.bits = (this.bits << 8) | byte;
    this.count += 8;
  }

  /** The next n (<= 16) bits without consuming them. */
  peek(n: number): number {
    while (this.count < n) this.fill();
    return (this.bits >>> (this.count - n)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    this.count -= n;
    this.bits &= (1 << this.count) - 1;
  }

  receive(n: number): number {
    if (n === 0) return 0;
    const v = this.peek(n);
    this.skip(n);
    return v;
  }

  /** Skips to the RSTn marker that ends a restart interval. */
  restart(): void {
    this.count = 0;
    this.bits = 0;
    while (this.position + 1 < this.data.length && !(this.data[this.position] === 0xff && this.data[this.position + 1] >= 0xd0 && this.data[this.position + 1] <= 0xd7)) this.position++;
    this.position += 2;
  }
}

function decodeSymbol(reader: BitReader, table: HuffmanTable, source: string): number {
  const hit = table.lookup[reader.peek(LOOKAHEAD)];
  if (hit !== 0) {
    reader.skip(hit >> 8);
    return hit & 0xff;
  }
  let length = LOOKAHEAD + 1;
  let code = reader.peek(length);
  while (code > table.maxCode[length]) {
    if (++length > 16) throw new ImageReadError(source, 'corrupt JPEG data: bad Huffman code');
    code = reader.peek(length);
  }
  reader.skip(length);
  return table.values[code + table.offset[length]];
}

/** Sign-extends an n-bit magnitude category value (JPEG's EXTEND). */
function extend(v: number, n: number): number {
  return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
}

const CONST_BITS = 13;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** Rounding right shift of (possibly negative, possibly > 32-bit) integers, as libjpeg's DESCALE. */
const descale = (x: number, n: number): number => Math.floor((x + 2 ** (n - 1)) / 2 ** n);

const WORKSPACE = new Float64Array(64);
const ROW = new Float64Array(8);

/** libjpeg's jpeg_idct_islow on dequantised coefficients (natural order), writing clamped samples. */
function idctIslow(coef: Float64Array, precision: number, out: Uint16Array, outStride: number, outOffset: number, width: number, height: number, bx: number, by: number): void {
  const pass1Bits = precision === 8 ? 2 : 1;
  const centre = 1 << (precision - 1);
  const max = (1 << precision) - 1;
  const ws = WORKSPACE;
  for (let c = 0; c < 8; c++) {
    if (coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 && coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0) {
      const dc = coef[c] * 2 ** pass1Bits;
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let z2 = coef[16 + c];
    let z3 = coef[48 + c];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coef[c];
    z3 = coef[32 + c];
    let tmp0 = (z2 + z3) * 2 ** CONST_BITS;
    let tmp1 = (z2 - z3) * 2 ** CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = coef[56 + c];
    tmp1 = coef[40 + c];
    tmp2 = coef[24 + c];
    tmp3 = coef[8 + c];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const s = CONST_BITS - pass1Bits;
    ws[c] = descale(tmp10 + tmp3, s);
    ws[56 + c] = descale(tmp10 - tmp3, s);
    ws[8 + c] = descale(tmp11 + tmp2, s);
    ws[48 + c] = descale(tmp11 - tmp2, s);
    ws[16 + c] = descale(tmp12 + tmp1, s);
    ws[40 + c] = descale(tmp12 - tmp1, s);
    ws[24 + c] = descale(tmp13 + tmp0, s);
    ws[32 + c] = descale(tmp13 - tmp0, s);
  }
  const row = ROW;
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const y = by * 8 + r;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      row.fill(descale(ws[w], pass1Bits + 3));
    } else {
      let z2 = ws[w + 2];
      let z3 = ws[w + 6];
      let z1 = (z2 + z3) * FIX_0_541196100;
      let tmp2 = z1 + z3 * -FIX_1_847759065;
      let tmp3 = z1 + z2 * FIX_0_765366865;
      let tmp0 = (ws[w] + ws[w + 4]) * 2 ** CONST_BITS;
      let tmp1 = (ws[w] - ws[w + 4]) * 2 ** CONST_BITS;
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      tmp0 = ws[w + 7];
      tmp1 = ws[w + 5];
      tmp2 = ws[w + 3];
      tmp3 = ws[w + 1];
      z1 = tmp0 + tmp3;
      z2 = tmp1 + tmp2;
      z3 = tmp0 + tmp2;
      let z4 = tmp1 + tmp3;
      const z5 = (z3 + z4) * FIX_1_175875602;
      tmp0 *= FIX_0_298631336;
      tmp1 *= FIX_2_053119869;
      tmp2 *= FIX_3_072711026;
      tmp3 *= FIX_1_501321110;
      z1 *= -FIX_0_899976223;
      z2 *= -FIX_2_562915447;
      z3 = z3 * -FIX_1_961570560 + z5;
      z4 = z4 * -FIX_0_390180644 + z5;
      tmp0 += z1 + z3;
      tmp1 += z2 + z4;
      tmp2 += z2 + z3;
      tmp3 += z1 + z4;
      const s = CONST_BITS + pass1Bits + 3;
      row[0] = descale(tmp10 + tmp3, s);
      row[7] = descale(tmp10 - tmp3, s);
      row[1] = descale(tmp11 + tmp2, s);
      row[6] = descale(tmp11 - tmp2, s);
      row[2] = descale(tmp12 + tmp1, s);
      row[5] = descale(tmp12 - tmp1, s);
      row[3] = descale(tmp13 + tmp0, s);
      row[4] = descale(tmp13 - tmp0, s);
    }
    if (y >= height) continue;
    for (let k = 0; k < 8; k++) {
      const x = bx * 8 + k;
      if (x < width) out[outOffset + y * outStride + x] = Math.min(max, Math.max(0, row[k] + centre));
    }
  }
}

export function decodeJpegSequential(source: string, data: Uint8Array): DecodedFrame {
  const fail = (problem: string): never => { throw new ImageReadError(source, `corrupt JPEG data: ${problem}`); };
  if (data[0] !== 0xff || data[1] !== 0xd8) fail('no SOI marker');
  const quant: Float64Array[] = [];
  const dc: HuffmanTable[] = [];
  const ac: HuffmanTable[] = [];
  let width = 0;
  let height = 0;
  let precision = 0;
  let quantIndex = 0;
  let restartInterval = 0;
  let pos = 2;
  const u16 = (at: number): number => (data[at] << 8) | data[at + 1];
  for (;;) {
    if (pos + 4 > data.length) fail('no scan before the end of data');
    if (data[pos] !== 0xff) fail(`expected a marker at byte ${pos}`);
    const marker = data[pos + 1];
    if (marker === 0xff) { pos++; continue; }
    const length = u16(pos + 2);
    const body = pos + 4;
    const end = pos + 2 + length;
    if (end > data.length) fail('truncated marker segment');
    if (marker === 0xdb) {
      for (let p = body; p < end; ) {
        const sixteen = data[p] >> 4;
        const id = data[p] & 15;
        p++;
        const table = new Float64Array(64);
        for (let k = 0; k < 64; k++) {
          table[ZIGZAG[k]] = sixteen ? u16(p + 2 * k) : data[p + k];
        }
        p += sixteen ? 128 : 64;
        quant[id] = table;
      }
    } else if (marker === 0xc4) {
      for (let p = body; p < end; ) {
        const cls = data[p] >> 4;
        const id = data[p] & 15;
        const counts = data.subarray(p + 1, p + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        const table = buildTable(counts, data.slice(p + 17, p + 17 + total));
        (cls === 0 ? dc : ac)[id] = table;
        p += 17 + total;
      }
    } else if (marker === 0xdd) {
      restartInterval = u16(body);
    } else if (marker === 0xc0 || marker === 0xc1) {
      precision = data[body];
      height = u16(body + 1);
      width = u16(body + 3);
      if (data[body + 5] !== 1) fail(`${data[body + 5]} components; one grey component expected`);
      quantIndex = data[body + 8];
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      fail(`unsupported JPEG process (SOF${marker - 0xc0}); sequential Huffman is read`);
    } else if (marker === 0xda) {
      if (!width || !height) fail('scan before frame header');
      if (precision !== 8 && precision !== 12) fail(`unsupported precision of ${precision} bits`);
      const tables = data[body + 2];
      const dcTable = dc[tables >> 4];
      const acTable = ac[tables & 15];
      const q = quant[quantIndex];
      if (!dcTable || !acTable || !q) fail('missing Huffman or quantisation table');
      const reader = new BitReader(data, end);
      const blocksX = Math.ceil(width / 8);
      const blocksY = Math.ceil(height / 8);
      const out = new Uint16Array(width * height);
      const coef = new Float64Array(64);
      let prediction = 0;
      for (let block = 0; block < blocksX * blocksY; block++) {
        if (restartInterval && block > 0 && block % restartInterval === 0) {
          reader.restart();
          prediction = 0;
        }
        coef.fill(0);
        const t = decodeSymbol(reader, dcTable, source);
        prediction += t === 0 ? 0 : extend(reader.receive(t), t);
        coef[0] = prediction * q[0];
        for (let k = 1; k < 64; ) {
          const rs = decodeSymbol(reader, acTable, source);
          const r = rs >> 4;
          const s = rs & 15;
          if (s === 0) {
            if (r !== 15) break;
            k += 16;
            continue;
          }
          k += r;
          if (k > 63) fail('coefficient index out of range');
          coef[ZIGZAG[k]] = extend(reader.receive(s), s) * q[ZIGZAG[k]];
          k++;
        }
        idctIslow(coef, precision, out, width, 0, width, height, block % blocksX, Math.floor(block / blocksX));
      }
      const bytes = precision === 8 ? Uint8Array.from(out) : new Uint8Array(out.buffer);
      return { width, height, bitsPerSample: precision, componentCount: 1, bytes };
    }
    pos = end;
  }
}
