import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { neededLibraries, providerDir } from '../../src/infer/providers';

describe('neededLibraries (the CUDA pre-check reads what the provider links to without loading it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-elf-'));
  const binding = join(providerDir(), 'onnxruntime_binding.node');

  const linux = process.platform === 'linux' && process.arch === 'x64';
  (linux ? test : test.skip)('lists the sonames an ELF shared library links to', () => {
    const needed = neededLibraries(binding);
    expect(needed).toContain('libonnxruntime.so.1');
    expect(needed.every((n) => /^[\w.+-]+\.so(\.\d+)*$/.test(n))).toBe(true);
  });

  test('refuses files that are not ELF64 shared libraries, or are cut short', () => {
    const text = join(dir, 'text.so');
    writeFileSync(text, 'not a library at all, but long enough to hold an ELF header of sixty-four bytes........');
    expect(() => neededLibraries(text)).toThrow('not a little-endian ELF64 file');
    const empty = join(dir, 'empty.so');
    writeFileSync(empty, '');
    expect(() => neededLibraries(empty)).toThrow(/truncated at byte 0/);
    if (!linux) return;
    const cut = join(dir, 'cut.so');
    writeFileSync(cut, readFileSync(binding).subarray(0, 200));
    expect(() => neededLibraries(cut)).toThrow(/truncated at byte/);
  });
});
