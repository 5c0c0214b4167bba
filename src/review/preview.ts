import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import { displayFunction, readImage, readImageInfo, readImageReduced } from '../io';
import { writeFileAtomic } from '../util/fs';

/**
 * The images the page shows, as JPEG files cached under OUT/review-cache/: a downscaled preview for the
 * whole-image view, the full resolution only once the page zooms past the preview's. Any input lmk reads
 * (DICOM included) is shown as the model saw it: through its display (VOI) transform, in grey.
 */

export const CACHE_DIR = 'review-cache';
export const PREVIEW_SIDE = 1024;
export type PreviewKind = 'preview' | 'full';

/** Renders at a time: each one decodes a whole radiograph, and the machine may be doing other work. */
const CONCURRENT_RENDERS = 2;

async function render(file: string, kind: PreviewKind): Promise<Buffer> {
  let image;
  if (kind === 'full') image = await readImage(file);
  else {
    // Decode at the smallest reduction that still covers the preview (JPEG shrinks while decoding).
    const { width, height } = await readImageInfo(file);
    const shrink = [8, 4, 2, 1].find((s) => Math.max(width, height) / s >= PREVIEW_SIDE) ?? 1;
    image = await readImageReduced(file, { minWidth: Math.floor(width / shrink), minHeight: Math.floor(height / shrink) });
  }
  const grey = displayFunction(image.valueRange, image.display);
  const bytes = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(grey(image.data[i]) * 255);
  let out = sharp(bytes, { raw: { width: image.width, height: image.height, channels: 1 } });
  if (kind === 'preview') out = out.resize(PREVIEW_SIDE, PREVIEW_SIDE, { fit: 'inside', withoutEnlargement: true });
  return out.jpeg({ quality: kind === 'full' ? 92 : 85 }).toBuffer();
}

export class PreviewCache {
  private inFlight = new Map<string, Promise<string>>();
  private running = 0;
  private waiting: (() => void)[] = [];

  constructor(readonly dir: string) {}

  /**
   * The cached JPEG of `file`, made first if needed. The name hashes the path with its size and modification
   * time, so an image replaced on disk gets a new preview.
   */
  async jpeg(file: string, kind: PreviewKind): Promise<string> {
    const { size, mtimeMs } = await fsp.stat(file);
    const name = createHash('sha256').update(`${file}\0${size}\0${mtimeMs}\0${kind}`).digest('hex').slice(0, 32);
    const path = join(this.dir, `${name}.jpg`);
    let job = this.inFlight.get(path);
    if (!job) {
      job = this.make(file, kind, path).finally(() => this.inFlight.delete(path));
      this.inFlight.set(path, job);
    }
    return job;
  }

  private async make(file: string, kind: PreviewKind, path: string): Promise<string> {
    try {
      await fsp.access(path);
      return path;
    } catch {
      // Not cached yet.
    }
    while (this.running >= CONCURRENT_RENDERS) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      const jpeg = await render(file, kind);
      await fsp.mkdir(this.dir, { recursive: true });
      await writeFileAtomic(path, jpeg);
      return path;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
