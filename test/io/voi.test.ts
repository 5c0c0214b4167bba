import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { displayFunction, readImage, toDisplayUnit } from '../../src/io';
import { Element, greyImageElements, str, us, writeDicom } from './dicom-writer';

/**
 * Grey levels as a viewer shows them: the VOI (window, VOI LUT, min-max) after the modality transform and
 * MONOCHROME1's inversion, checked against dcmtk's dcmj2pnm with the matching option, within one grey level.
 */

const DCMJ2PNM = spawnSync('dcmj2pnm', ['--version'], { encoding: 'utf8' }).status === 0;
const W = 64;
const H = 48;

/** A ramp over `lo`..`hi` with some structure, as 16-bit stored values. */
function ramp(lo: number, hi: number): number[] {
  return Array.from({ length: W * H }, (_, i) => {
    const x = i % W;
    const y = Math.floor(i / W);
    return Math.round(lo + ((hi - lo) * ((x / (W - 1)) * 0.8 + 0.2 * (0.5 + 0.5 * Math.sin(y / 3)))));
  });
}

function dicom16(values: number[], o: { bitsStored: number; photometric?: string; extra?: Element[] }): Buffer {
  const pixels = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => pixels.writeUInt16LE(v, 2 * i));
  return writeDicom({
    transferSyntax: '1.2.840.10008.1.2.1',
    elements: greyImageElements({ width: W, height: H, bitsAllocated: 16, bitsStored: o.bitsStored, photometric: o.photometric, extra: o.extra }),
    pixels,
  });
}

function lutSequence(tag: number, first: number, entries: number[], bits: number): Element {
  const data = Buffer.alloc(2 * entries.length);
  entries.forEach((v, i) => data.writeUInt16LE(v, 2 * i));
  return { tag, vr: 'SQ', value: { items: [[us(0x00283002, entries.length, first, bits), { tag: 0x00283006, vr: 'OW', value: data }]] } };
}

/** dcmj2pnm's 8-bit PGM of the file: its pixel bytes. */
function dcmtkPgm(file: string, options: string[]): Uint8Array {
  const out = `${file}.pgm`;
  const r = spawnSync('dcmj2pnm', [...options, file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dcmj2pnm ${options.join(' ')}: ${r.stderr}`);
  const bytes = readFileSync(out);
  // An 8-bit P5 PGM: a text header, then width x height bytes.
  if (bytes.subarray(0, 2).toString() !== 'P5') throw new Error(`dcmj2pnm wrote no PGM for ${file}`);
  return bytes.subarray(bytes.length - W * H);
}

const window = (c: number, w: number, fn?: string): Element[] => [
  str(0x00281050, 'DS', String(c)), str(0x00281051, 'DS', String(w)), ...(fn ? [str(0x00281056, 'CS', fn)] : []),
];

const cases: [string, Buffer, string[]][] = [
  ['12-bit with a window (LINEAR)', dicom16(ramp(0, 4095), { bitsStored: 12, extra: window(1800, 1500) }), ['+Wi', '1']],
  ['12-bit with a SIGMOID window', dicom16(ramp(0, 4095), { bitsStored: 12, extra: window(2000, 1200, 'SIGMOID') }), ['+Wi', '1', '+Wfs']],
  ['12-bit without a window (min-max)', dicom16(ramp(300, 3100), { bitsStored: 12 }), ['+Wm']],
  ['16-bit with a VOI LUT', dicom16(ramp(0, 65535), { bitsStored: 16, extra: [lutSequence(0x00283010, 0, Array.from({ length: 4096 }, (_, i) => Math.round(4095 * Math.sqrt(i / 4095))), 12)] }), ['+Wl', '1']],
  // The peer's dental CR: 10 bits stored, a 16-bit Modality LUT whose entries fill a small part of 0-65535.
  ['10-bit MONOCHROME1, 16-bit Modality LUT, no window', dicom16(ramp(0, 1023), { bitsStored: 10, photometric: 'MONOCHROME1', extra: [lutSequence(0x00283000, 0, Array.from({ length: 1024 }, (_, i) => 12000 + 7 * i), 16)] }), ['+Wm']],
  ['12-bit MONOCHROME1 with a window', dicom16(ramp(0, 4095), { bitsStored: 12, photometric: 'MONOCHROME1', extra: window(2048, 3000) }), ['+Wi', '1']],
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-voi-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DICOM grey levels through the VOI', () => {
  (DCMJ2PNM ? it.each(cases) : it.skip.each(cases))('%s: as dcmj2pnm renders it, within one grey level (skipped without dcmtk)', async (name, bytes, options) => {
    const file = join(dir, `${name.replace(/\W+/g, '_')}.dcm`);
    writeFileSync(file, bytes);
    const image = await readImage(file);
    const ours = toDisplayUnit(image.data, image.valueRange, image.display);
    const theirs = dcmtkPgm(file, options);
    let worst = 0;
    let spread = 0;
    for (let i = 0; i < theirs.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i] * 255 - theirs[i]));
      spread = Math.max(spread, theirs[i]);
    }
    expect(worst).toBeLessThanOrEqual(1 + 1e-4);
    // The rendering is a radiograph's grey range, not the near-white of a nominal 16-bit range.
    expect(spread).toBeGreaterThan(200);
  });

  it('LINEAR_EXACT, as PS3.3 C.11.2.1.3.2 defines it', async () => {
    const image = await readImage(dicom16(ramp(0, 4095), { bitsStored: 12, extra: window(1100, 200, 'LINEAR_EXACT') }));
    expect(image.display?.window).toMatchObject({ kind: 'LINEAR_EXACT', center: 1100, width: 200, source: 'file' });
    const f = displayFunction(image.valueRange, image.display);
    expect([0, 1000, 1050, 1100, 1200, 4095].map(f)).toEqual([0, 0, 0.25, 0.5, 1, 1]);
  });

  it('an unknown VOI LUT Function is one line naming the file', async () => {
    const file = join(dir, 'bad-function.dcm');
    writeFileSync(file, dicom16(ramp(0, 10), { bitsStored: 12, extra: window(1, 2, 'CUBIC') }));
    await expect(readImage(file)).rejects.toThrow(`${file}: unknown VOI LUT Function 'CUBIC' (LINEAR, LINEAR_EXACT or SIGMOID)`);
  });
});
