/**
 * Grids that are not multiples of the encoder stride (the hand's 512x368) cannot go through a
 * stride-32 network as they are. The input is padded at the bottom and right to the next multiple
 * of 32 and the heatmaps are cropped back, so the grid's pixel coordinates stay unchanged.
 */
export const NETWORK_STRIDE = 32;

export function paddedSize(n: number, stride = NETWORK_STRIDE): number {
  return Math.ceil(n / stride) * stride;
}

/** Copies an N x C x H x W tensor into the top-left of a zero N x C x Hp x Wp tensor. */
export function padBottomRight(src: Float32Array, n: number, c: number, h: number, w: number, hp: number, wp: number): Float32Array {
  if (hp === h && wp === w) return src;
  const out = new Float32Array(n * c * hp * wp);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      out.set(src.subarray((p * h + y) * w, (p * h + y + 1) * w), (p * hp + y) * wp);
    }
  }
  return out;
}

/** Inverse of `padBottomRight`: keeps the top-left H x W of each N x C plane. */
export function cropTopLeft(src: Float32Array, n: number, c: number, hp: number, wp: number, h: number, w: number): Float32Array {
  if (hp === h && wp === w) return src;
  const out = new Float32Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      out.set(src.subarray((p * hp + y) * wp, (p * hp + y) * wp + w), (p * h + y) * w);
    }
  }
  return out;
}
