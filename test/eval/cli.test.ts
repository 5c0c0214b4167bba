import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runCli } from '../../src/cli/run';
import { evalCommand } from '../../src/cli/commands/eval';
import { studyCommand } from '../../src/cli/commands/study';
import { generateSyntheticSet, writeSyntheticCsvDataset } from '../../src/demo/synthetic';

/** Runs `lmk ...` in-process; returns stdout, stderr and the exit code. */
async function lmk(...argv: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out += String(c); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err += String(c); return true; });
  process.exitCode = 0;
  try {
    await runCli('lmk', argv, [evalCommand, studyCommand]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('lmk eval and lmk study --plan', () => {
  let dir: string;
  const testCases = generateSyntheticSet({ count: 3, seed: 4, firstIndex: 50 });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-eval-cli-'));
    await writeSyntheticCsvDataset(join(dir, 'set'), generateSyntheticSet({ count: 2, seed: 4 }), { spacingMm: 0.25, testCases });
    writeFileSync(join(dir, 'p.jsonl'), testCases.map((c) => JSON.stringify({ id: `images/${c.id}.png`, landmarks: c.landmarks.map(([x, y]) => [x + 8, y]) })).join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--json on the test split: 8 px at 0.25 mm/px is 2 mm', async () => {
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'), '--json', '--thresholds', '1.5,2,2.5');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.n_images).toBe(3);
    expect(j.mre.unit).toBe('mm');
    expect(j.mre.value).toBeCloseTo(2, 3);
    expect(Object.keys(j.sdr)).toEqual(['2', '1.5', '2.5']); // integer-like keys first once parsed; the text keeps them ascending
    expect(r.out.indexOf('"1.5"')).toBeLessThan(r.out.indexOf('"2"'));
    expect(j.per_landmark).toHaveLength(7);
  });

  test('a readable table without --json; one-line errors with the file named', async () => {
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'));
    expect(r.out).toMatch(/MRE \(mm\)/);
    const missing = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--predictions');
    const both = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'));
    expect(both.err).toContain('give exactly one of --predictions and --model');
    const train = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'), '--split', 'train');
    expect(train.code).toBe(1);
    expect(train.err).toMatch(/p\.jsonl: no prediction for 2 of 2 images/);
  });

  test('lmk study --plan lists the 15 chains', async () => {
    const r = await lmk('study', '--plan');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => /-> fine-tune on/.test(l))).toHaveLength(15);
  });
});
