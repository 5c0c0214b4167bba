/**
 * mulberry32: a small seeded generator (32-bit state, period 2^32) of uniform numbers in [0, 1), each a
 * multiple of 2^-32. The same seed gives the same sequence on every machine (and in the dev parity scripts'
 * Python transcription), so a seed names the same weights, splits and synthetic images everywhere.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
