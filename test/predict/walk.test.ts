import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { candidateKind, walkInputs } from '../../src/predict';

async function collect(inputs: string[]): Promise<{ files: string[]; errors: string[] }> {
  const files: string[] = [];
  const errors: string[] = [];
  for await (const f of walkInputs(inputs, (_p, err) => errors.push(err.message))) files.push(f);
  return { files, errors };
}

/** The first bytes of an implicit-VR DICOM data set without preamble: (0008,0016) with a 26-byte value. */
function rawDicomHead(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt16LE(0x0008, 0);
  b.writeUInt16LE(0x0016, 2);
  b.writeUInt32LE(26, 4);
  return b;
}

describe('walkInputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-walk-'));
  mkdirSync(join(dir, 'b', 'inner'), { recursive: true });
  mkdirSync(join(dir, 'a'));
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  for (const f of ['z.png', 'a/y.JPG', 'b/x.dcm', 'b/inner/w.mha', 'm.tif', 'notes.txt', '.hidden.png']) writeFileSync(join(dir, f), png);
  writeFileSync(join(dir, 'b', 'IM0001'), rawDicomHead()); // extensionless DICOM
  writeFileSync(join(dir, 'b', '1.2.840.113619.2.55'), rawDicomHead()); // UID-named DICOM
  writeFileSync(join(dir, 'b', 'LICENSE'), 'plain text'); // extensionless, not an image
  writeFileSync(join(dir, 'b', 'DICOMDIR'), rawDicomHead()); // the media directory: never an image

  test('recursive, depth first, sorted by name; image extensions in any case; extensionless files by content', async () => {
    const { files, errors } = await collect([dir]);
    expect(errors).toEqual([]);
    expect(files).toEqual(['a/y.JPG', 'b/1.2.840.113619.2.55', 'b/IM0001', 'b/inner/w.mha', 'b/x.dcm', 'm.tif', 'z.png'].map((f) => join(dir, f)));
  });

  test('files named directly are taken whatever their name; missing inputs are reported and the rest goes on', async () => {
    const { files, errors } = await collect([join(dir, 'notes.txt'), join(dir, 'nope'), join(dir, 'a')]);
    expect(files).toEqual([join(dir, 'notes.txt'), join(dir, 'a', 'y.JPG')]);
    expect(errors).toEqual([`${join(dir, 'nope')}: no such file or directory`]);
  });

  test('relative inputs come back absolute', async () => {
    const rel = join('.', require('path').relative(process.cwd(), join(dir, 'a')));
    const { files } = await collect([rel]);
    expect(files).toEqual([resolve(dir, 'a', 'y.JPG')]);
  });

  test('candidateKind', () => {
    expect(candidateKind('x.PNG')).toBe('image');
    expect(candidateKind('scan')).toBe('sniff');
    expect(candidateKind('1.3.6.1.4.1.9328')).toBe('sniff');
    expect(candidateKind('x.txt')).toBeUndefined();
    expect(candidateKind('.x.png')).toBeUndefined();
    expect(candidateKind('dicomdir')).toBeUndefined();
  });
});
