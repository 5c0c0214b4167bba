import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync, fsyncSync, createReadStream } from 'fs';
import { createInterface } from 'readline';

/**
 * An append-only JSON Lines file whose every line is written whole: one write() per line on a file
 * opened for appending. A line torn by a crash (no trailing newline) is cut off when the file is
 * opened again, so readers never see half a record.
 */
export class JsonlJournal {
  private fd: number;

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    JsonlJournal.repairTail(this.fd);
  }

  static open(path: string): JsonlJournal {
    return new JsonlJournal(path);
  }

  /** Truncates a last line that lacks its newline (the trace of a crash mid-write). */
  private static repairTail(fd: number): void {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const chunk = Buffer.alloc(Math.min(size, 1 << 16));
    let end = size;
    // Walk back to the last newline.
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (i >= 0) {
        const keep = start + i + 1;
        if (keep !== size) ftruncateSync(fd, keep);
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
  }

  append(record: object): void {
    writeSync(this.fd, Buffer.from(`${JSON.stringify(record)}\n`, 'utf8'));
  }

  /** Forces appended lines to disk (call at checkpoints, not per line). */
  sync(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Reads the `key` field of every whole line of a JSON Lines file (missing file: nothing). */
export async function readJournalKeys(path: string, key: string): Promise<Set<string>> {
  const keys = new Set<string>();
  if (!existsSync(path)) return keys;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    try {
      const value = (JSON.parse(line) as Record<string, unknown>)[key];
      if (typeof value === 'string') keys.add(value);
    } catch {
      // A torn last line from a crash: JsonlJournal.open cuts it off before appending.
    }
  }
  return keys;
}
