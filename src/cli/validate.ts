import { UsageError } from './errors';

/** Up-front option checks shared by the commands: each failure is a UsageError (exit 2) naming the flag. */
export function check(condition: boolean, message: string): void {
  if (!condition) throw new UsageError(message);
}

/** An optional flag that, when given, must be a whole number >= 1. */
export function checkPositiveInt(value: number | undefined, flag: string): void {
  check(value === undefined || (Number.isInteger(value) && value >= 1), `--${flag} must be a positive whole number, got ${value}`);
}

/** Runs a library check (resolveSpec, validateSeed, ...) and turns its error into a UsageError (exit 2). */
export function usage<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
