import { promises as fsp } from 'fs';
import { extname, join, resolve } from 'path';
import { detectFormat } from '../io';

/** Extensions that name images lmk reads. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.mha', '.dcm', '.dicom']);

/**
 * 'image' for a known image extension; 'sniff' for names that DICOM archives use (no extension, or a
 * UID such as 1.2.840.113619.2.55.3.1234: a numeric "extension"), which are taken only when their
 * first bytes are an image's; undefined for anything else (and for hidden files and DICOMDIR, the
 * media directory, which holds no image).
 */
export function candidateKind(name: string): 'image' | 'sniff' | undefined {
  if (name.startsWith('.') || name.toUpperCase() === 'DICOMDIR') return undefined;
  const ext = extname(name).toLowerCase();
  if (IMAGE_EXTENSIONS.has(ext)) return 'image';
  return ext === '' || /^\.\d+$/.test(ext) ? 'sniff' : undefined;
}

/** Enough for the DICOM preamble and 'DICM' (the longest signature detectFormat needs). */
const SNIFF_BYTES = 256;

/** Whether a file without an image extension starts like an image; unreadable files are offered, so that reading them reports why. */
async function startsLikeImage(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await fsp.open(path, 'r');
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return detectFormat(head.subarray(0, bytesRead)) !== undefined;
  } catch {
    return true;
  } finally {
    await handle?.close();
  }
}

/**
 * Yields image files under each input, depth first, in sorted name order. Only one directory's
 * names are held at a time per level, so an archive of any size streams in bounded memory.
 * Inputs that are files are yielded as given (whatever their extension): the user named them.
 */
export async function* walkInputs(inputs: string[], onError?: (path: string, err: Error) => void): AsyncGenerator<string> {
  for (const input of inputs) {
    const path = resolve(input);
    let stat;
    try {
      stat = await fsp.stat(path);
    } catch (err) {
      onError?.(path, new Error(`${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`));
      continue;
    }
    if (stat.isDirectory()) yield* walkDirectory(path, onError);
    else yield path;
  }
}

async function* walkDirectory(dir: string, onError?: (path: string, err: Error) => void): AsyncGenerator<string> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    onError?.(dir, new Error(`${dir}: cannot list directory: ${(err as Error).message}`));
    return;
  }
  const names = entries.map((e) => ({ name: e.name, dir: e.isDirectory(), file: e.isFile() || e.isSymbolicLink() }));
  entries = undefined;
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of names) {
    const path = join(dir, e.name);
    if (e.dir) yield* walkDirectory(path, onError);
    else if (e.file) {
      const kind = candidateKind(e.name);
      if (kind === 'image' || (kind === 'sniff' && (await startsLikeImage(path)))) yield path;
    }
  }
}
