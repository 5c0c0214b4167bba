import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { readImage } from '../../src/io';

/**
 * Colour DICOM (dental software's and film digitisers' Secondary Captures) is read as grey the way colour
 * JPEG files are: luma of dcmtk's RGB rendering, within one grey level, for each photometric interpretation,
 * planar configuration and encoding dcmtk writes.
 */

const TOOLS = ['img2dcm', 'dcmdjpeg', 'dcmcrle', 'dcmcjpls', 'dcmj2pnm', 'dcml2pnm'];
const missing = TOOLS.filter((t) => spawnSync(t, ['--version'], { encoding: 'utf8' }).status !== 0);
const W = 64;
const H = 48;

let dir: string;
const run = (tool: string, ...args: string[]) => {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr}`);
};

beforeAll(async () => {
  if (missing.length) return;
  dir = mkdtempSync(join(tmpdir(), 'lmk-colour-'));
  // A grey radiograph-like ramp with a tint, as film digitisers and dental software capture them (on
  // saturated colours dcmtk rounds YCbCr to RGB up to 2 levels a channel apart from BT.601 arithmetic).
  const rgb = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const grey = 20 + x * 3 + 10 * Math.sin(y / 4);
      rgb.set([grey + 12, grey, grey - 10 + (x % 7)].map((v) => Math.round(Math.min(255, Math.max(0, v)))), (y * W + x) * 3);
    }
  }
  await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).toFile(join(dir, 'c.jpg'));
  const f = (name: string) => join(dir, name);
  run('img2dcm', f('c.jpg'), f('jpeg-ybr422.dcm'));
  run('dcmdjpeg', f('jpeg-ybr422.dcm'), f('rgb.dcm'));
  run('dcmdjpeg', '+pl', f('jpeg-ybr422.dcm'), f('rgb-planar.dcm'));
  run('dcmdjpeg', '+cn', f('jpeg-ybr422.dcm'), f('ybr-full.dcm'));
  run('dcmdjpeg', '+cn', '+pl', f('jpeg-ybr422.dcm'), f('ybr-full-planar.dcm'));
  run('dcmcrle', f('rgb.dcm'), f('rle-rgb.dcm'));
  run('dcmcrle', f('ybr-full.dcm'), f('rle-ybr-full.dcm'));
  run('dcmcjpls', f('rgb.dcm'), f('jpegls-rgb.dcm'));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** dcmtk's RGB rendering (8-bit PPM), turned grey by lmk's luma rule. */
function dcmtkGrey(file: string): Float32Array {
  const out = `${file}.ppm`;
  // dcmj2pnm renders the JPEG family and RLE; dcml2pnm JPEG-LS.
  run(file.includes('jpegls') ? 'dcml2pnm' : 'dcmj2pnm', file, out);
  const bytes = readFileSync(out);
  const rgb = bytes.subarray(bytes.length - 3 * W * H);
  return Float32Array.from({ length: W * H }, (_, p) => {
    const [r, g, b] = [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]];
    return r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
  });
}

const files: [string, string][] = [
  ['JPEG baseline, YBR_FULL_422 (img2dcm of a colour JPEG)', 'jpeg-ybr422.dcm'],
  ['native RGB, by pixel', 'rgb.dcm'],
  ['native RGB, by plane', 'rgb-planar.dcm'],
  ['native YBR_FULL, by pixel', 'ybr-full.dcm'],
  ['native YBR_FULL, by plane', 'ybr-full-planar.dcm'],
  ['RLE, RGB', 'rle-rgb.dcm'],
  ['RLE, YBR_FULL', 'rle-ybr-full.dcm'],
  ['JPEG-LS, RGB', 'jpegls-rgb.dcm'],
];

(missing.length ? describe.skip : describe)(`colour DICOM as grey${missing.length ? ` (skipped: no ${missing.join(', ')})` : ''}`, () => {
  it.each(files)('%s: dcmtk\'s RGB in luma, within one grey level', async (_, name) => {
    const image = await readImage(join(dir, name));
    expect(image).toMatchObject({ format: 'dicom', width: W, height: H, valueRange: [0, 255] });
    const theirs = dcmtkGrey(join(dir, name));
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(image.data[i] - theirs[i]));
    expect(worst).toBeLessThanOrEqual(1 + 1e-4);
  });

  it('the colour JPEG inside a DICOM reads as the JPEG file does', async () => {
    const fromDicom = await readImage(join(dir, 'jpeg-ybr422.dcm'));
    const fromJpeg = await readImage(join(dir, 'c.jpg'));
    let worst = 0;
    for (let i = 0; i < fromJpeg.data.length; i++) worst = Math.max(worst, Math.abs(fromDicom.data[i] - fromJpeg.data[i]));
    expect(worst).toBeLessThanOrEqual(1 + 1e-4);
  });
});
