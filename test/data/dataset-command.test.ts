import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { commands } from '../../src/cli/commands';
import { runCli } from '../../src/cli/run';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

/** Runs `lmk <args>` in-process; returns stdout, stderr and the exit code it set. */
async function lmk(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
  process.exitCode = 0;
  try {
    await runCli('lmk', args, commands);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'io');

describe('lmk inspect', () => {
  it('prints the issue\'s JSON for a compressed DICOM', async () => {
    const r = await lmk('inspect', join(FIXTURES, 'jpegls.dcm'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['width', 'height', 'bitsStored', 'photometric', 'modality', 'transferSyntax', 'pixelSpacingMm', 'window', 'stats']);
    expect(j).toMatchObject({ width: 64, height: 48, bitsStored: 10, photometric: 'MONOCHROME1', modality: 'CR', transferSyntax: '1.2.840.10008.1.2.4.80', pixelSpacingMm: null });
    // The fixture's own Window Center/Width.
    expect(j.window).toBe('window from the file: center 550, width 1024, LINEAR, inverted (MONOCHROME1)');
    expect(Object.keys(j.stats)).toEqual(['min', 'max', 'mean']);
  });

  it('fails in one line naming the file', async () => {
    const r = await lmk('inspect', join(FIXTURES, 'missing.dcm'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`lmk: ${join(FIXTURES, 'missing.dcm')}: file not found\n`);
  });
});

describeWithSharedData('lmk dataset on the real layouts', () => {
  it('info --json', async () => {
    const r = await lmk('dataset', 'info', '--format', 'hand-dha', '--root', join(SHARED_DATA!, 'hand-dha'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['format', 'images', 'landmarks', 'missing', 'splits']);
    expect(j).toMatchObject({ format: 'hand-dha', images: 10, landmarks: 37, splits: { train: 6, test: 4 } });
    expect(j.missing[0]).toEqual({ id: '3142', reason: expect.stringContaining('no image found') });
  });

  it('show --json, in original pixels', async () => {
    const r = await lmk('dataset', 'show', '--format', 'chest-shenzhen', '--root', join(SHARED_DATA!, 'chest-shenzhen'), '--id', 'CHNCXR_0001_0', '--json');
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(['id', 'width', 'height', 'landmarks', 'spacingMm']);
    expect(j).toMatchObject({ id: 'CHNCXR_0001_0', width: 750, height: 730, spacingMm: null });
    expect(j.landmarks).toHaveLength(6);
    expect(j.landmarks[0][0]).toBeCloseTo(0.41625 * 750, 9);
    const isbi = JSON.parse((await lmk('dataset', 'show', '--format', 'isbi2015', '--root', join(SHARED_DATA!, 'isbi2015'), '--id', '001', '--json')).out);
    expect(isbi).toMatchObject({ id: '001', width: 1935, height: 2400, spacingMm: 0.1 });
    const unusable = await lmk('dataset', 'show', '--format', 'hand-dha', '--root', join(SHARED_DATA!, 'hand-dha'), '--id', '3142');
    expect(unusable.err).toMatch(/^lmk: item 3142 is unusable: no image found/);
  });
});

describe('lmk dataset augment-preview', () => {
  it('writes PNGs on the model grid', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-prev-'));
    const out = join(root, 'out');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 80, g: 80, b: 80 } } }).png().toFile(join(root, 'a.png'));
    writeFileSync(join(root, 'landmarks.csv'), 'image,x1,y1\na.png,10,12\n');
    const r = await lmk('dataset', 'augment-preview', '--format', 'csv', '--root', root, '--out', out, '--count', '2', '--seed', '5');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['a.png-aug1.png', 'a.png-aug2.png']);
    const meta = await sharp(join(out, 'a.png-aug1.png')).metadata();
    expect([meta.width, meta.height]).toEqual([512, 512]);
    const bad = await lmk('dataset', 'augment-preview', '--format', 'csv', '--root', root, '--out', out, '--count', '0');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--count must be a positive integer/);
    expect(existsSync(join(out, 'a.png-aug3.png'))).toBe(false);
  });
});
