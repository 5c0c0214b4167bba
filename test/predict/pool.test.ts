import { readdirSync, readFileSync } from 'fs';
import { getPriority } from 'os';
import { PreparePool } from '../../src/predict';
import { dotImage } from './helpers';

/** Nice values of this process's threads (Linux: field 19 of /proc/self/task/TID/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('PreparePool', () => {
  test('worker threads give the same inputs as the calling thread, name the source in errors, and run at a lower priority', async () => {
    const options = { grid: { height: 32, width: 24 }, inChannels: 3 as const, previewSize: 50 };
    const image = new Uint8Array(await dotImage(90, 120, 30, 80));
    const inProcess = new PreparePool(options, 0);
    const threaded = new PreparePool(options, 2);
    try {
      const [a, b] = await Promise.all([inProcess.prepare(image), threaded.prepare(image)]);
      expect(b.input).toBeInstanceOf(Float32Array);
      expect(Array.from(b.input)).toEqual(Array.from(a.input));
      expect(b.info).toEqual({ width: 90, height: 120, format: 'png', pixelSpacingMm: undefined });
      expect([b.preview!.width, b.preview!.height, b.preview!.data.length]).toEqual([38, 50, 38 * 50]);
      expect(b.decodeMs).toBeGreaterThan(0);
      await expect(threaded.prepare(new Uint8Array([1, 2, 3]), 'scan-7')).rejects.toThrow(/^scan-7: unrecognised image format/);
      // Two requests at once go to the two workers (least loaded first), so both have started and lowered their
      // priority (seen where the test itself runs at a higher one than theirs, not under `nice npm test`).
      await Promise.all([threaded.prepare(image), threaded.prepare(image)]);
      if (process.platform === 'linux' && getPriority() < 10) expect(threadNiceValues().filter((n) => n === 10)).toHaveLength(2);
    } finally {
      await Promise.all([inProcess.close(), threaded.close()]);
    }
    await expect(threaded.prepare(image)).rejects.toThrow(/closed/);
  });
});
