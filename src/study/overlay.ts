import sharp from 'sharp';
import type { Point } from '../data/types';
import { Display, displayFunction, readImage } from '../io';

/**
 * Overlay of predictions on an x-ray: ground truth as green rings, predictions as red dots, a yellow
 * line joining each pair, landmark numbers beside the ground truth. Pixel centres are at integers, so
 * (x, y) is drawn at SVG position ((x + 0.5) s, (y + 0.5) s) for an image scaled by s.
 */

export interface GrayImage {
  data: Float32Array;
  width: number;
  height: number;
  /** Intensity range mapped to black..white. */
  valueRange: [number, number];
  display?: Display;
}

export interface OverlayOptions {
  /** Longest side of the output at most this (large x-rays are scaled down). Default 768. */
  maxSize?: number;
  /** Longest side at least this (small images are scaled up so the marks stay legible). Default 512. */
  minSize?: number;
}

function toBytes(image: GrayImage): Buffer {
  const grey = displayFunction(image.valueRange, image.display);
  const out = Buffer.alloc(image.width * image.height);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(grey(image.data[i]) * 255);
  return out;
}

export async function overlayPng(image: GrayImage, truth: Point[], predicted: Point[], options: OverlayOptions = {}): Promise<Buffer> {
  if (truth.length !== predicted.length) throw new Error(`overlay: ${truth.length} ground-truth landmarks but ${predicted.length} predictions`);
  const longest = Math.max(image.width, image.height);
  const scale = Math.min((options.maxSize ?? 768) / longest, Math.max(1, (options.minSize ?? 512) / longest));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const sx = width / image.width;
  const sy = height / image.height;
  const at = ([x, y]: Point): [number, number] => [(x + 0.5) * sx, (y + 0.5) * sy];
  const r = Math.max(2, Math.round(Math.min(width, height) / 110));
  const marks = truth.map((t, j) => {
    const [tx, ty] = at(t);
    const [px, py] = at(predicted[j]);
    return (
      `<line x1="${tx.toFixed(2)}" y1="${ty.toFixed(2)}" x2="${px.toFixed(2)}" y2="${py.toFixed(2)}" stroke="#ffd400" stroke-width="${Math.max(1, r / 3).toFixed(1)}"/>` +
      `<circle cx="${tx.toFixed(2)}" cy="${ty.toFixed(2)}" r="${r}" fill="none" stroke="#00e060" stroke-width="${Math.max(1, r / 2.5).toFixed(1)}"/>` +
      `<circle cx="${px.toFixed(2)}" cy="${py.toFixed(2)}" r="${(r / 1.6).toFixed(1)}" fill="#ff3030"/>` +
      `<text x="${(tx + r * 1.3).toFixed(2)}" y="${(ty - r * 1.3).toFixed(2)}" font-family="sans-serif" font-size="${r * 2.6}" fill="#00e060">${j + 1}</text>`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${marks.join('')}</svg>`;
  const base = await sharp(toBytes(image), { raw: { width: image.width, height: image.height, channels: 1 } })
    .resize(width, height)
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return sharp(base).composite([{ input: Buffer.from(svg) }]).png().toBuffer();
}

/** Reads an x-ray of any supported format (src/io) and draws the overlay. */
export async function overlayImageFile(imagePath: string, truth: Point[], predicted: Point[], options: OverlayOptions = {}): Promise<Buffer> {
  const decoded = await readImage(imagePath);
  return overlayPng(decoded, truth, predicted, options);
}
