/** 2-D similarity transforms (translation, rotation, uniform scale) and their least-squares fit. */

export type Point = [number, number];

/** x' = a x - b y + tx, y' = b x + a y + ty: scale hypot(a, b), rotation atan2(b, a). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function applySimilarity(t: Similarity, [x, y]: readonly [number, number]): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

/** The centroid of the points and their RMS distance from it. */
export function centroidAndRadius(points: readonly (readonly [number, number])[]): { cx: number; cy: number; radius: number } {
  const n = points.length;
  let cx = 0;
  let cy = 0;
  for (const [x, y] of points) {
    cx += x / n;
    cy += y / n;
  }
  let ss = 0;
  for (const [x, y] of points) ss += (x - cx) ** 2 + (y - cy) ** 2;
  return { cx, cy, radius: Math.sqrt(ss / n) };
}

export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

/**
 * The similarity that maps `from` onto `to` with the least weighted squared error (closed form: the
 * weighted Procrustes solution). Points with weight 0 or a non-finite coordinate are left out; undefined
 * when what remains does not determine a transform (fewer than two distinct points).
 */
export function fitSimilarity(from: readonly (readonly [number, number])[], to: readonly (readonly [number, number])[], weights?: readonly number[]): Similarity | undefined {
  let sw = 0;
  let fx = 0;
  let fy = 0;
  let px = 0;
  let py = 0;
  const use = (k: number): number => {
    const w = weights ? weights[k] : 1;
    return w > 0 && Number.isFinite(to[k][0]) && Number.isFinite(to[k][1]) ? w : 0;
  };
  for (let k = 0; k < from.length; k++) {
    const w = use(k);
    if (!w) continue;
    sw += w;
    fx += w * from[k][0];
    fy += w * from[k][1];
    px += w * to[k][0];
    py += w * to[k][1];
  }
  if (!(sw > 0)) return undefined;
  fx /= sw;
  fy /= sw;
  px /= sw;
  py /= sw;
  let re = 0;
  let im = 0;
  let den = 0;
  for (let k = 0; k < from.length; k++) {
    const w = use(k);
    if (!w) continue;
    const mx = from[k][0] - fx;
    const my = from[k][1] - fy;
    const qx = to[k][0] - px;
    const qy = to[k][1] - py;
    re += w * (mx * qx + my * qy);
    im += w * (mx * qy - my * qx);
    den += w * (mx * mx + my * my);
  }
  // Relative to the spread of `from`: all weight on one point (or coincident points) fixes no rotation or scale.
  if (!(den > 1e-12 * sw * (fx * fx + fy * fy + 1))) return undefined;
  const a = re / den;
  const b = im / den;
  return { a, b, tx: px - (a * fx - b * fy), ty: py - (b * fx + a * fy) };
}
