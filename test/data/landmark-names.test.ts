import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  formatLandmarkNames, ISBI2015_LANDMARK_NAMES, numberedLandmarkNames, parseLandmarkNames, readLandmarkNamesFile, serializeLandmarkNames,
} from '../../src/data';

describe('landmark names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-names-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('ISBI 2015 has its nineteen; other formats and counts are numbered', () => {
    expect(formatLandmarkNames('isbi2015', 19).map((n) => n.code)).toEqual(['S', 'N', 'Or', 'Po', 'A', 'B', 'Pog', 'Me', 'Gn', 'Go', 'LIT', 'UIT', 'UL', 'LL', 'Sn', "Pog'", 'PNS', 'ANS', 'Ar']);
    expect(formatLandmarkNames('hand-dha', 37)[36]).toEqual({ code: 'L37', name: 'landmark 37' });
    expect(formatLandmarkNames('isbi2015', 5)).toEqual(numberedLandmarkNames(5));
  });

  it('reads a --landmark-names file: CODE,name or a name alone, comments and blank lines skipped', async () => {
    const path = file('names.txt', '# my scanner\nS,sella turcica centre\n\nnasion\n  Go , gonion \n');
    expect(await readLandmarkNamesFile(path, 3)).toEqual([
      { code: 'S', name: 'sella turcica centre' }, { code: 'nasion', name: 'nasion' }, { code: 'Go', name: 'gonion' },
    ]);
    await expect(readLandmarkNamesFile(path, 4)).rejects.toThrow(`${path}: 3 landmark names, the data set has 4 landmarks`);
    const twice = file('twice.txt', 'S,a\nS,b\n');
    await expect(readLandmarkNamesFile(twice, 2)).rejects.toThrow(`${twice}: code 'S' names landmarks 1 and 2`);
    const empty = file('empty.txt', 'S,\n');
    await expect(readLandmarkNamesFile(empty, 1)).rejects.toThrow(`${empty}:1: expected 'CODE,name' or a name, got 'S,'`);
    await expect(readLandmarkNamesFile(join(dir, 'none.txt'), 1)).rejects.toThrow(/none\.txt: landmark names file not found/);
  });

  it('round-trips through model metadata; a model without names reads as numbered; bad metadata is one line', () => {
    expect(parseLandmarkNames(serializeLandmarkNames(ISBI2015_LANDMARK_NAMES), 19, 'm.onnx')).toEqual(ISBI2015_LANDMARK_NAMES);
    expect(parseLandmarkNames(undefined, 2, 'm.onnx')).toEqual(numberedLandmarkNames(2));
    expect(() => parseLandmarkNames('[{"code":"S","name":"sella"}]', 2, 'm.onnx')).toThrow('m.onnx: lmk.landmarks names 1 landmarks, the model has 2');
    expect(() => parseLandmarkNames('{', 1, 'm.onnx')).toThrow('m.onnx: lmk.landmarks is not JSON');
    expect(() => parseLandmarkNames('[{"code":""}]', 1, 'm.onnx')).toThrow(/must be a list of/);
  });
});
