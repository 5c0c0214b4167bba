import { SingleBar } from 'cli-progress';

/**
 * A progress bar on stderr, or none with --quiet or when stderr is not a terminal (scripts and logs get
 * plain lines from the command instead). `etaBuffer`: how many recent updates the time left averages.
 */
export function progressBar(format: string, quiet: boolean, etaBuffer: number): SingleBar | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  return new SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer });
}
