import { createHash } from 'crypto';

/**
 * A UID under the 2.25 root (an integer form of a UUID, ISO/IEC 9834-8) derived from `parts`: the same parts
 * always give the same UID. Name-based (UUID version 8 layout over SHA-256), so that a result written again
 * for the same image, model and prediction (a rerun after a crash) is the same DICOM instance, not a second one.
 */
export function derivedUid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString(10)}`;
}
