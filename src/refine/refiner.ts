/**
 * The refinement stage at prediction time: one crop per landmark about the first stage's estimate, all in one
 * session run, each decoded from its own landmark's map (the same decoding as the first stage's), mapped back
 * to the image. Crops lie where the patient faces as in training: a mirrored pass crops the mirrored image.
 */
import { fromWindowPoint, Grid, Point, Window } from '../data';
import { decodeDistributionsAsync, decodeHeatmapsAsync } from '../heatmaps';
import type { ReducedImage } from '../io';
import { cropInput, cropStep, cropUnit, cropWindow } from './crops';
import type { StoredRefinement } from './stages';

/** Runs the refinement network on N crops (N x inChannels x crop x crop): N x classes x crop x crop maps. */
export type CropRun = (crops: Float32Array, n: number) => Promise<Float32Array>;

export class Refiner {
  constructor(
    readonly settings: StoredRefinement,
    private readonly firstGrid: Grid,
    private readonly classes: number,
    private readonly inChannels: 1 | 3,
    private readonly run: CropRun,
  ) {}

  /**
   * `facing`: the first stage's landmarks where the patient faces as in training (the mirrored image's
   * pixels for a mirrored pass), found through `window` of that frame. Returns them refined, in that frame,
   * with the refinement's own scores; a landmark whose score falls short of minScore keeps its first estimate,
   * the others move refinedWeight of the way to the refined point.
   */
  async refine(facing: Point[], window: Window, image: ReducedImage, mirrored: boolean): Promise<{ points: Point[]; scores: number[] }> {
    const { crop, factor, sigma, minScore, refinedWeight, output } = this.settings;
    const k = this.classes;
    const step = cropStep(window, this.firstGrid, factor);
    const windows = facing.map((p) => cropWindow(p, step, crop));
    const plane = crop * crop;
    const inputSize = this.inChannels * plane;
    const batch = new Float32Array(k * inputSize);
    windows.forEach((w, j) => batch.set(cropInput(cropUnit(image, w, crop, mirrored), crop, this.inChannels), j * inputSize));
    const maps = await this.run(batch, k);
    // Crop j is read in its own landmark's map: channel j of sample j.
    const own = new Float32Array(k * plane);
    for (let j = 0; j < k; j++) own.set(maps.subarray((j * k + j) * plane, (j * k + j + 1) * plane), j * plane);
    const decoded = output === 'spatial-softmax'
      ? await decodeDistributionsAsync(own, k, crop, crop, sigma)
      : await decodeHeatmapsAsync(own, k, crop, crop, { method: 'soft-argmax', sigma });
    const cropGrid = { height: crop, width: crop };
    const points = windows.map((w, j): Point => {
      const [x, y] = facing[j];
      if (decoded.scores[j] < minScore) return [x, y];
      const [rx, ry] = fromWindowPoint([decoded.points[2 * j], decoded.points[2 * j + 1]], w, cropGrid);
      return [x + refinedWeight * (rx - x), y + refinedWeight * (ry - y)];
    });
    return { points, scores: Array.from(decoded.scores) };
  }
}
