/** A problem with how a command was called: reported in one line, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
