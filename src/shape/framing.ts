/**
 * How the training images frame their landmarks (metadata key `lmk.framing`): where the landmarks' centroid
 * sits in the frame, how large their spread is beside the frame, and the frames' aspect ratio. Another
 * device's image frames the anatomy larger or smaller (a smaller detector, another field of view); the
 * Predictor lays a window over such an image that frames the landmarks it found as training framed them,
 * and looks again.
 */
import type { Window } from '../data/grid';
import { centroidAndRadius, Point } from './similarity';

export const FRAMING_KEY = 'lmk.framing';

export interface Framing {
  /** The landmarks' centroid as a share of the frame's width and height (pixel edges 0 and 1). */
  centre: [number, number];
  /** RMS distance of the landmarks from their centroid, as a share of the frame's height. */
  radius: number;
  /** Frame width over height. */
  aspect: number;
  /** The frames' height in millimetres, where the training images state their pixel spacing. */
  frameMm?: number;
}

/**
 * When a second look pays: the window's height differs from the frame's by more than this factor, or its
 * centre lies off the frame's by more than REFRAME_SHIFT of the window. Within these the training images
 * themselves vary (ISBI 001-150 under the CPU recipe's model: 99 % of them within 1.16x and 0.064), and
 * training covered that.
 */
export const REFRAME_SCALE = 1.16;
export const REFRAME_SHIFT = 0.07;

/** The mean framing of training items (landmarks in original pixels, centres at integers). */
export function buildFraming(items: readonly { landmarks: readonly (readonly [number, number])[]; width: number; height: number; mmPerPixel?: number }[]): Framing {
  if (!items.length) throw new Error('framing: no training items');
  let u = 0;
  let v = 0;
  let radius = 0;
  let aspect = 0;
  for (const item of items) {
    const c = centroidAndRadius(item.landmarks);
    u += (c.cx + 0.5) / item.width;
    v += (c.cy + 0.5) / item.height;
    radius += c.radius / item.height;
    aspect += item.width / item.height;
  }
  const n = items.length;
  const spaced = items.every((i) => i.mmPerPixel !== undefined && i.mmPerPixel > 0);
  const frameMm = spaced ? items.reduce((s, i) => s + i.height * i.mmPerPixel!, 0) / n : undefined;
  return { centre: [u / n, v / n], radius: radius / n, aspect: aspect / n, ...(frameMm !== undefined ? { frameMm } : {}) };
}

export function serializeFraming(f: Framing): string {
  const r = (x: number) => Number(x.toFixed(6));
  return JSON.stringify({ centre: f.centre.map(r), radius: r(f.radius), aspect: r(f.aspect), ...(f.frameMm !== undefined ? { frameMm: r(f.frameMm) } : {}) });
}

export function parseFraming(text: string, source = FRAMING_KEY): Framing {
  let f: Partial<Framing>;
  try {
    f = JSON.parse(text) as Partial<Framing>;
  } catch {
    throw new Error(`${source}: not JSON`);
  }
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const c = f.centre;
  if (!Array.isArray(c) || c.length !== 2 || !c.every((x) => typeof x === 'number' && Number.isFinite(x)) || !positive(f.radius) || !positive(f.aspect)
    || !(f.frameMm === undefined || positive(f.frameMm))) {
    throw new Error(`${source}: must be {"centre": [u, v], "radius": r > 0, "aspect": a > 0, "frameMm"?: mm > 0}`);
  }
  return { centre: [c[0], c[1]], radius: f.radius!, aspect: f.aspect!, ...(f.frameMm !== undefined ? { frameMm: f.frameMm } : {}) };
}

/**
 * The window (original pixels) in which `points` sit as the training landmarks sat in their frames: its
 * height makes their spread the training share, its width keeps the training aspect ratio.
 */
export function framingWindow(points: readonly Point[], framing: Framing): Window | undefined {
  const finite = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (finite.length < 3) return undefined;
  const { cx, cy, radius } = centroidAndRadius(finite);
  if (!(radius > 0)) return undefined;
  const height = radius / framing.radius;
  const width = height * framing.aspect;
  return { left: cx - framing.centre[0] * width, top: cy - framing.centre[1] * height, width, height };
}

/**
 * The first look at an image whose file states its pixel spacing, for a model whose training images did: the
 * training frame's size in millimetres about the image's centre, so that the anatomy is as large on the grid
 * as in training whatever the detector's size. Undefined where that is about the whole frame anyway (see reframes).
 */
export function spacingWindow(image: { width: number; height: number; pixelSpacingMm?: [number, number] }, framing: Framing): Window | undefined {
  if (framing.frameMm === undefined || !image.pixelSpacingMm) return undefined;
  const [row, column] = image.pixelSpacingMm;
  if (!(row > 0 && column > 0)) return undefined;
  const height = framing.frameMm / row;
  const width = (framing.frameMm * framing.aspect) / column;
  const window = { left: (image.width - width) / 2 - 0.5, top: (image.height - height) / 2 - 0.5, width, height };
  return reframes(window, { left: -0.5, top: -0.5, width: image.width, height: image.height }) ? window : undefined;
}

/** Whether `window` frames the image differently enough from `frame` for a second look (see REFRAME_SCALE). */
export function reframes(window: Window, frame: Window): boolean {
  const scale = window.height / frame.height;
  const dx = (window.left + window.width / 2 - (frame.left + frame.width / 2)) / window.width;
  const dy = (window.top + window.height / 2 - (frame.top + frame.height / 2)) / window.height;
  return Math.abs(Math.log(scale)) > Math.log(REFRAME_SCALE) || Math.abs(dx) > REFRAME_SHIFT || Math.abs(dy) > REFRAME_SHIFT;
}
