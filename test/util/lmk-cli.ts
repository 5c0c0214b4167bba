import { runCli } from '../../src/cli/run';
import { commands } from '../../src/cli/commands';

/** Runs `lmk ...` in process; returns the exit status it set and what it wrote to stderr. */
export async function lmk(argv: string[]): Promise<{ status: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await runCli('lmk', argv, commands);
    return { status: Number(process.exitCode ?? 0), stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
  }
}
