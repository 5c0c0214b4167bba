import { mkdir } from 'fs/promises';
import { join } from 'path';
import sharp from 'sharp';
import type { Point } from '../data/types';
import { writeFileAtomic } from '../util/fs';
import { mulberry32 } from '../util/random';

/**
 * Procedural, seeded, x-ray-like hand radiographs for the demo and for tests.
 *
 * Each case is a hand: a palm (rounded quadrilateral) and five fingers of two phalanges each
 * (capsules with a dark joint space between them), bright cortical rims over dimmer bone, a soft
 * tissue envelope, film fog and noise. The whole hand is rotated, scaled and translated at random
 * and every finger spreads and varies in length, so the mean shape predicts poorly, while each
 * landmark stays a definite anatomical point of the drawn contours:
 *   1-5: the tips of the distal phalanges, thumb to little finger (the far end of each finger's contour);
 *   6-7: the radial and ulnar corners of the wrist (the two proximal corners of the palm).
 */

export const SYNTHETIC_LANDMARK_NAMES = [
  'thumb tip',
  'index tip',
  'middle tip',
  'ring tip',
  'little tip',
  'radial wrist corner',
  'ulnar wrist corner',
] as const;

export interface SyntheticOptions {
  /** Number of cases. */
  count: number;
  /** Seed of the generator: equal seeds give equal cases. Default 1. */
  seed?: number;
  /** Image size in pixels; default 128 x 128. */
  width?: number;
  height?: number;
  /** Std of the additive pixel noise (image range 0-1). Default 0.03. */
  noise?: number;
  /** First case number (ids are `case0000`, ...); default 0. */
  firstIndex?: number;
}

export interface SyntheticCase {
  id: string;
  width: number;
  height: number;
  /** Row-major intensities in [0, 1], bone bright as on a radiograph. */
  image: Float32Array;
  /** (x, y) = (column, row) with pixel centres at integers. */
  landmarks: Point[];
}

// Local aliases: under jest's vm context every global lookup (Math, Infinity) is an interceptor call,
// which slows these per-pixel loops about tenfold.
const { cos, hypot, imul, log, max, min, PI, round, sign, sin, sqrt } = Math;
const FAR = 1e9;


function gaussian(rng: () => number): number {
  const u = max(rng(), 1e-12);
  return sqrt(-2 * log(u)) * cos(2 * PI * rng());
}

const uniform = (rng: () => number, lo: number, hi: number): number => lo + (hi - lo) * rng();

interface Capsule {
  a: Point;
  b: Point;
  r: number;
}

/** Signed distance to a capsule (segment a-b thickened by r): negative inside. */
function capsuleDistance(px: number, py: number, c: Capsule): number {
  const dx = c.b[0] - c.a[0];
  const dy = c.b[1] - c.a[1];
  const t = min(1, max(0, ((px - c.a[0]) * dx + (py - c.a[1]) * dy) / (dx * dx + dy * dy)));
  return hypot(px - c.a[0] - t * dx, py - c.a[1] - t * dy) - c.r;
}

/** Signed distance to a convex polygon (counter-clockwise or clockwise), negative inside. */
function polygonDistance(px: number, py: number, poly: Point[]): number {
  let minEdge = FAR;
  let inside = true;
  let side = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i];
    const b = poly[(i + 1) % poly.length];
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const t = min(1, max(0, ((px - a[0]) * dx + (py - a[1]) * dy) / (dx * dx + dy * dy)));
    minEdge = min(minEdge, hypot(px - a[0] - t * dx, py - a[1] - t * dy));
    const cross = dx * (py - a[1]) - dy * (px - a[0]);
    const s = sign(cross);
    if (s !== 0) {
      if (side === 0) side = s;
      else if (s !== side) inside = false;
    }
  }
  return inside ? -minEdge : minEdge;
}

const smoothstep = (e0: number, e1: number, x: number): number => {
  const t = min(1, max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

interface Hand {
  palm: Point[];
  palmRounding: number;
  bones: Capsule[];
  landmarks: Point[];
}

/** A hand in a canonical frame (wrist at the origin, fingers towards -y), then posed. */
function sampleHand(rng: () => number, width: number, height: number): Hand {
  const size = min(width, height);
  const scale = (size / 128) * uniform(rng, 0.72, 1.02);
  const angle = uniform(rng, -0.5, 0.5);
  const cosA = cos(angle);
  const sinA = sin(angle);
  // The wrist sits low in the frame; the hand's extent (about 95 units tall) must stay inside.
  const cx = width / 2 + uniform(rng, -0.15, 0.15) * width;
  const cy = height * 0.84 + uniform(rng, -0.08, 0.04) * height;
  const pose = ([x, y]: Point): Point => [cx + scale * (cosA * x - sinA * y), cy + scale * (sinA * x + cosA * y)];

  const palmWidth = uniform(rng, 34, 42);
  const palmHeight = uniform(rng, 32, 40);
  const wristNarrowing = uniform(rng, 4, 9);
  // Palm corners: wrist (radial, ulnar) and knuckle line (ulnar, radial); radial side is x < 0.
  const canonicalPalm: Point[] = [
    [-palmWidth / 2 + wristNarrowing, 0],
    [palmWidth / 2 - wristNarrowing, 0],
    [palmWidth / 2, -palmHeight],
    [-palmWidth / 2, -palmHeight],
  ];
  const palmRounding = 2.5 * scale;
  const bones: Capsule[] = [];
  const tips: Point[] = [];
  const joint = 1.6; // joint space between phalanges, in canonical units
  // Thumb from the radial side of the palm, pointing out and up.
  const fingers = [
    { base: [-palmWidth / 2 + 2, -palmHeight * 0.35] as Point, dir: -2.2 + uniform(rng, -0.25, 0.25), lengths: [13, 11], r: 3.6 },
    ...[0, 1, 2, 3].map((k) => {
      const along = -palmWidth / 2 + palmWidth * (0.14 + 0.24 * k);
      const spread = (k - 1.5) * uniform(rng, 0.06, 0.2);
      const base = [20, 23, 21, 16][k] * uniform(rng, 0.85, 1.15);
      return { base: [along, -palmHeight - 1] as Point, dir: -PI / 2 + spread, lengths: [base * 0.58, base * 0.42], r: [3.2, 3.3, 3.1, 2.7][k] };
    }),
  ];
  for (const f of fingers) {
    const ux = cos(f.dir);
    const uy = sin(f.dir);
    let start: Point = [f.base[0] + ux * (joint + f.r), f.base[1] + uy * (joint + f.r)];
    f.lengths.forEach((length, k) => {
      const r = f.r * (k === 0 ? 1 : 0.85);
      const end: Point = [start[0] + ux * length, start[1] + uy * length];
      bones.push({ a: pose(start), b: pose(end), r: r * scale });
      if (k === f.lengths.length - 1) tips.push(pose([end[0] + ux * r, end[1] + uy * r]));
      start = [end[0] + ux * (2 * r + joint), end[1] + uy * (2 * r + joint)];
    });
  }
  const palm = canonicalPalm.map(pose);
  // Wrist corners: the proximal palm corners, pushed out by the rounding so they lie on the drawn contour.
  const corner = (p: Point, q: Point): Point => {
    const dx = p[0] - q[0];
    const dy = p[1] - q[1];
    const n = hypot(dx, dy);
    return [p[0] + (dx / n) * palmRounding, p[1] + (dy / n) * palmRounding];
  };
  const centre: Point = pose([0, -palmHeight / 2]);
  return { palm, palmRounding, bones, landmarks: [...tips, corner(palm[0], centre), corner(palm[1], centre)] };
}

/** Hands are drawn again until every landmark and bone lies inside the image, at least 3 px from its edges. */
function sampleFramedHand(rng: () => number, width: number, height: number): Hand {
  const margin = 3;
  const inside = (x: number, y: number, pad: number): boolean => x - pad >= margin && y - pad >= margin && x + pad <= width - 1 - margin && y + pad <= height - 1 - margin;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const hand = sampleHand(rng, width, height);
    const framed =
      hand.landmarks.every(([x, y]) => inside(x, y, 0)) &&
      hand.palm.every(([x, y]) => inside(x, y, hand.palmRounding)) &&
      hand.bones.every((c) => inside(c.a[0], c.a[1], c.r) && inside(c.b[0], c.b[1], c.r));
    if (framed) return hand;
  }
  throw new Error(`could not fit a synthetic hand into ${width} x ${height} pixels`);
}

function render(hand: Hand, rng: () => number, width: number, height: number, noise: number): Float32Array {
  const image = new Float32Array(width * height);
  const boneLevel = uniform(rng, 0.62, 0.78);
  const tissueLevel = uniform(rng, 0.22, 0.32);
  const background = uniform(rng, 0.04, 0.12);
  const tissueMargin = uniform(rng, 3, 6) * (min(width, height) / 128);
  // Film fog: a smooth brightness gradient across the image.
  const fogX = uniform(rng, -0.08, 0.08);
  const fogY = uniform(rng, -0.08, 0.08);
  // Far from the hand only background is drawn: skip the distance sums there.
  const reach = tissueMargin + 2;
  const xs = [...hand.palm.map((p) => p[0]), ...hand.bones.flatMap((c) => [c.a[0] - c.r, c.a[0] + c.r, c.b[0] - c.r, c.b[0] + c.r])];
  const ys = [...hand.palm.map((p) => p[1]), ...hand.bones.flatMap((c) => [c.a[1] - c.r, c.a[1] + c.r, c.b[1] - c.r, c.b[1] + c.r])];
  const x0 = min(...xs) - hand.palmRounding - reach;
  const x1 = max(...xs) + hand.palmRounding + reach;
  const y0 = min(...ys) - hand.palmRounding - reach;
  const y1 = max(...ys) + hand.palmRounding + reach;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let boneDistance = FAR;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        boneDistance = polygonDistance(x, y, hand.palm) - hand.palmRounding;
        for (const c of hand.bones) boneDistance = min(boneDistance, capsuleDistance(x, y, c));
      }
      const tissue = 1 - smoothstep(tissueMargin - 1.5, tissueMargin + 1.5, boneDistance);
      const bone = 1 - smoothstep(-0.7, 0.7, boneDistance);
      // Cortical bone: the outer rim is denser, so brighter, than the medulla.
      const cortex = smoothstep(-3, -1.8, boneDistance) * bone;
      let v = background + tissueLevel * tissue + boneLevel * bone * 0.8 + 0.2 * boneLevel * cortex;
      v += fogX * (x / width - 0.5) + fogY * (y / height - 0.5) + noise * gaussian(rng);
      image[y * width + x] = min(1, max(0, v));
    }
  }
  return image;
}

/** One case; `index` names it and, with the seed, fixes its random stream. */
export function generateCase(seed: number, index: number, options: Omit<SyntheticOptions, 'count' | 'seed' | 'firstIndex'> = {}): SyntheticCase {
  const width = options.width ?? 128;
  const height = options.height ?? 128;
  const noise = options.noise ?? 0.03;
  if (!(Number.isInteger(width) && width >= 64 && Number.isInteger(height) && height >= 64)) {
    throw new Error(`synthetic images must be at least 64 x 64 whole pixels, got ${width} x ${height}`);
  }
  // Each case gets its own stream, so case k is the same whatever the count.
  const rng = mulberry32(imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ imul(index + 1, 0xc2b2ae35));
  const hand = sampleFramedHand(rng, width, height);
  return { id: `case${String(index).padStart(4, '0')}`, width, height, image: render(hand, rng, width, height, noise), landmarks: hand.landmarks };
}

export function generateSyntheticSet(options: SyntheticOptions): SyntheticCase[] {
  if (!(Number.isInteger(options.count) && options.count > 0)) throw new Error(`count must be a positive whole number, got ${options.count}`);
  const first = options.firstIndex ?? 0;
  return Array.from({ length: options.count }, (_, k) => generateCase(options.seed ?? 1, first + k, options));
}

/** 8-bit grayscale PNG of a case. */
export async function caseToPng(c: SyntheticCase): Promise<Buffer> {
  const bytes = Buffer.alloc(c.width * c.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = round(c.image[i] * 255);
  return sharp(bytes, { raw: { width: c.width, height: c.height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export interface WrittenCsvDataset {
  root: string;
  csvPath: string;
  imageDir: string;
}

/**
 * Writes cases as a generic `csv` data set that `loadDataset({format: 'csv'})` reads: `DIR/landmarks.csv`
 * (header `image,x1,y1,...`, paths relative to DIR, plus `spacing_mm` when given and a `split` column
 * when test cases are given) and `DIR/images/<id>.png`.
 */
export async function writeSyntheticCsvDataset(
  dir: string,
  cases: SyntheticCase[],
  options: { spacingMm?: number; testCases?: SyntheticCase[] } = {},
): Promise<WrittenCsvDataset> {
  const test = options.testCases ?? [];
  const all = [...cases, ...test];
  if (cases.length === 0) throw new Error('no cases to write');
  const landmarkCount = cases[0].landmarks.length;
  if (all.some((c) => c.landmarks.length !== landmarkCount)) throw new Error('all cases must have the same number of landmarks');
  if (new Set(all.map((c) => c.id)).size !== all.length) throw new Error('case ids must be unique (give the test cases another firstIndex)');
  const imageDir = join(dir, 'images');
  await mkdir(imageDir, { recursive: true });
  const header = ['image', ...Array.from({ length: landmarkCount }, (_, j) => [`x${j + 1}`, `y${j + 1}`]).flat()];
  if (options.spacingMm !== undefined) header.push('spacing_mm');
  if (test.length > 0) header.push('split');
  const rows = [header.join(',')];
  for (const c of all) {
    await writeFileAtomic(join(imageDir, `${c.id}.png`), await caseToPng(c));
    const cells = [`images/${c.id}.png`, ...c.landmarks.flatMap(([x, y]) => [x.toFixed(3), y.toFixed(3)])];
    if (options.spacingMm !== undefined) cells.push(String(options.spacingMm));
    if (test.length > 0) cells.push(test.includes(c) ? 'test' : 'train');
    rows.push(cells.join(','));
  }
  const csvPath = join(dir, 'landmarks.csv');
  await writeFileAtomic(csvPath, rows.join('\n') + '\n');
  return { root: dir, csvPath, imageDir };
}
