import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import sharp from 'sharp';

/**
 * A generic `csv` data set of small grey PNGs with two markers at random places on a noisy
 * background: landmark 1 is the centre of a bright disk, landmark 2 the centre of a ring. A tiny
 * network learns to find them in a few hundred steps, which is what the loop tests need.
 */
export async function writeMarkerSet(dir: string, count: number, size: number, seed: number): Promise<void> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const rows = ['image,x1,y1,x2,y2'];
  for (let i = 0; i < count; i++) {
    const points = [0, 1].map(() => [4 + random() * (size - 9), 4 + random() * (size - 9)]);
    const pixels = Buffer.alloc(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const disk = Math.hypot(x - points[0][0], y - points[0][1]);
        const ring = Math.hypot(x - points[1][0], y - points[1][1]);
        pixels[y * size + x] = disk < 2.5 ? 230 : Math.abs(ring - 2.5) < 0.8 ? 200 : 40 + 30 * random();
      }
    }
    const name = `images/m${String(i).padStart(3, '0')}.png`;
    await sharp(pixels, { raw: { width: size, height: size, channels: 1 } }).png().toFile(join(dir, name));
    rows.push([name, ...points.flat().map((v) => v.toFixed(2))].join(','));
  }
  writeFileSync(join(dir, 'landmarks.csv'), `${rows.join('\n')}\n`);
}
