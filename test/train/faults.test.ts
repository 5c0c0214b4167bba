import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readSafetensors } from '../../src/models';
import { loadCheckpoint } from '../../src/train/checkpoint';
import { buildCli } from './built-cli';
import { writeMarkerSet } from './loop-data';

/** A few seconds of CPU each; the ceiling leaves room for a machine shared with other jobs. */
const SLOW_TEST_MS = 300_000;

let dir: string;
let cli: { script: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-faults-'));
  cli = buildCli(join(dir, 'cli'));
  await writeMarkerSet(join(dir, 'data'), 8, 32, 9);
}, SLOW_TEST_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trainArgs(out: string, extra: string[]): string[] {
  return [cli.script, 'train', '--format', 'csv', '--root', join(dir, 'data'), '--arch', 'unet', '--width-multiplier', '0.0625',
    '--height', '32', '--width', '32', '--val-fraction', '0', '--threads', '1', '--quiet', '--out', out, '--log', `${out}.jsonl`, ...extra];
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string }

function start(args: string[]): { child: ChildProcess; exit: Promise<Exit> } {
  // --no-warnings: where the native heatmap addon is not built, its one-time warning would join stderr.
  const child = spawn(process.execPath, ['--no-warnings', ...args], { env: cli.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exit };
}

const steps = (log: string): number[] => (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n')
  .filter((l) => l.startsWith('{"step"')).map((l) => (JSON.parse(l) as { step: number }).step);

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether every thread of process `pid` is stopped (state T in /proc), so that it changes no file until SIGCONT. */
const stopped = (pid: number): boolean => readdirSync(`/proc/${pid}/task`).every((task) => {
  const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2] === 'T';
});

const checkpointStep = async (out: string): Promise<number> => {
  try {
    return (await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state.step;
  } catch {
    return 0;
  }
};

describe('lmk train faults', () => {
  test('a non-finite loss stops with a one-line message and keeps the last good checkpoint', async () => {
    const out = join(dir, 'nan');
    const { exit } = start(trainArgs(out, ['--lr', '1e30', '--steps', '8', '--checkpoint-every', '1']));
    const { code, stderr } = await exit;
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    const m = /^lmk: training diverged: the loss of step (\d+) is (NaN|Infinity|-Infinity); stopped, the last good checkpoint (\S+) is kept/.exec(stderr);
    expect(m).not.toBeNull();
    const bad = Number(m![1]);
    expect(m![3]).toBe(join(out, 'checkpoint.safetensors'));
    const kept = await loadCheckpoint(m![3]);
    expect(kept.state.step).toBe(bad - 1);
    expect(steps(`${out}.jsonl`)).toEqual(Array.from({ length: bad - 1 }, (_, i) => i + 1));
    for (const t of kept.weights.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  }, SLOW_TEST_MS);

  // With 4 steps per run, blocks are cut at the checkpoints (every 3 steps) and a signal lands at the end of a block.
  test.each([1, 4])('%d step(s) per run: SIGINT and SIGTERM save and exit; after SIGKILL --resume continues from the last checkpoint; no corrupt file', async (stepsPerRun) => {
    const out = join(dir, `signals-${stepsPerRun}`);
    const log = `${out}.jsonl`;
    const args = (total: number): string[] => trainArgs(out, ['--steps', String(total), '--checkpoint-every', '3', '--lr', '1e-3', '--steps-per-run', String(stepsPerRun)]);
    // The interrupted runs ask for far more steps than they can reach, so none finishes before its signal however fast the
    // machine; --steps is no setting a resume must keep, so the last run ends the same run with a smaller one.
    const endless = args(1_000_000);

    // SIGINT, then SIGTERM on the resumed run: each saves a checkpoint at the step it stopped after.
    let resume: string[] = [];
    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const before = steps(log).length;
      const run = start([...endless, ...resume]);
      await until(() => steps(log).length >= before + 3, `steps after ${before}`);
      run.child.kill(signal);
      const { code, stderr } = await run.exit;
      expect(code).toBe(status);
      const stoppedAt = Number(/interrupted after step (\d+); checkpoint \S+ saved, continue with --resume/.exec(stderr)?.[1]);
      expect(stoppedAt).toBeGreaterThanOrEqual(before + 3);
      expect(await checkpointStep(out)).toBe(stoppedAt);
      expect(steps(log)).toEqual(Array.from({ length: stoppedAt }, (_, i) => i + 1));
      resume = ['--resume'];
    }

    // SIGKILL once a checkpoint later than the last one is in place and the log runs past it (lines --resume must drop).
    // The run is looked at while stopped (SIGSTOP), so the state seen is the state it is killed in; otherwise it continues.
    const saved = await checkpointStep(out);
    const killed = start([...endless, '--resume']);
    await until(async () => {
      killed.child.kill('SIGSTOP');
      await until(() => stopped(killed.child.pid!), 'the run to stop');
      const checkpointed = await checkpointStep(out);
      if (checkpointed > saved && steps(log).length > checkpointed) return true;
      killed.child.kill('SIGCONT');
      return false;
    }, 'a checkpoint with log lines after it');
    killed.child.kill('SIGKILL');
    expect((await killed.exit).signal).toBe('SIGKILL');
    for (const name of readdirSync(out).filter((f) => f.endsWith('.safetensors'))) await expect(readSafetensors(join(out, name))).resolves.toBeDefined();
    const lastCheckpoint = await checkpointStep(out);
    const logged = steps(log).length;
    expect(lastCheckpoint).toBeGreaterThan(saved);
    expect(logged).toBeGreaterThan(lastCheckpoint);

    // --resume drops the log lines after the checkpoint and recomputes them: every step once.
    const total = logged + 3;
    const finish = start([...args(total), '--resume']);
    const { code, stderr } = await finish.exit;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(steps(log)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state).toMatchObject({ step: total, finished: true });
  }, SLOW_TEST_MS);
});
