import sharp from 'sharp';
import type { Point } from '../data';
import type { GreyPreview } from './prepare';

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A PNG of the preview with each predicted landmark drawn as a red dot and its code (the model's, or its number). lmk puts pixel
 * centres at integers and SVG at half-integers, so (x, y) in original pixels is drawn at
 * ((x + 0.5) / scaleX, (y + 0.5) / scaleY).
 */
export async function predictionOverlayPng(preview: GreyPreview, landmarks: Point[], codes?: string[]): Promise<Buffer> {
  const { width, height, scaleX, scaleY } = preview;
  const r = Math.max(2, Math.round(Math.min(width, height) / 120));
  const marks = landmarks.map(([x, y], k) => {
    const cx = (x + 0.5) / scaleX;
    const cy = (y + 0.5) / scaleY;
    return `<circle cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" r="${r}" fill="#ff3030" stroke="#ffffff" stroke-width="${Math.max(1, r / 3).toFixed(1)}"/>`
      + `<text x="${(cx + r * 1.4).toFixed(2)}" y="${(cy - r * 1.4).toFixed(2)}" font-family="sans-serif" font-size="${r * 3}" fill="#ffd400">${escapeXml(codes?.[k] ?? String(k + 1))}</text>`;
  });
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${marks.join('')}</svg>`);
  const drawn = await sharp(Buffer.from(preview.data.buffer, preview.data.byteOffset, preview.data.byteLength), { raw: { width, height, channels: 1 } })
    .toColourspace('srgb')
    .composite([{ input: svg, top: 0, left: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The composite adds an alpha channel that an opaque x-ray does not need.
  return sharp(drawn.data, { raw: { width, height, channels: drawn.info.channels } }).removeAlpha().png().toBuffer();
}
