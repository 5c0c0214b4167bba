import { Grid } from '../../src/data';

/** Intensity-weighted centroid of the grid image around `near`. */
export function centroidNear(unit: Float32Array, grid: Grid, near: [number, number], radius: number): [number, number] {
  let sum = 0;
  let sx = 0;
  let sy = 0;
  for (let y = Math.max(0, Math.round(near[1]) - radius); y <= Math.min(grid.height - 1, Math.round(near[1]) + radius); y++) {
    for (let x = Math.max(0, Math.round(near[0]) - radius); x <= Math.min(grid.width - 1, Math.round(near[0]) + radius); x++) {
      const v = unit[y * grid.width + x];
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return [sx / sum, sy / sum];
}
