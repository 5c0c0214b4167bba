import { mulberry32 } from '../util/random';

/**
 * Uniform and normal draws from mulberry32 (util/random.ts). Deterministic across platforms, so a seed
 * names the same initial weights everywhere.
 */
export class Rng {
  private readonly draw: () => number;
  /** The second value of the last Box-Muller pair, when not yet used. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    this.draw = mulberry32(seed);
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  uniform(): number {
    return this.draw();
  }

  /** Standard normal (Box-Muller: cos of each pair, then its sin). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Fills `out` with U(low, high). */
  fillUniform(out: Float32Array, low: number, high: number): Float32Array {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.uniform();
    return out;
  }

  /** Fills `out` with N(0, std^2): the values normal() would give, a pair per step. */
  fillNormal(out: Float32Array, std: number): Float32Array {
    let i = 0;
    if (this.hasSpare && out.length > 0) out[i++] = std * this.normal();
    for (; i + 1 < out.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - this.uniform()));
      const theta = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(theta);
      out[i + 1] = r * Math.sin(theta);
    }
    if (i < out.length) out[i] = std * this.normal();
    return out;
  }
}

/** A seed for one named tensor: FNV-1a of the name mixed with the run's seed. */
export function derivedSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  // Avalanche (murmur3 finaliser) so that nearby names give unrelated streams.
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}
