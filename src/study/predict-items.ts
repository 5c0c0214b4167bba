import type { LandmarkItem } from '../data/types';
import type { PredictionRecord } from '../eval';
import { Predictor } from '../infer';

/** Predictions for every item with one model; `onItem` after each image. */
export async function predictItems(model: string, items: LandmarkItem[], options: { threads?: number; shapeCheck?: boolean; reframe?: boolean; refine?: boolean; onItem?: (done: number) => void } = {}): Promise<PredictionRecord[]> {
  const predictor = await Predictor.create({ model, threads: options.threads, shapeCheck: options.shapeCheck, reframe: options.reframe, refine: options.refine });
  try {
    const out: PredictionRecord[] = [];
    for (const item of items) {
      const p = await predictor.predict(item.imagePath);
      out.push({ id: item.id, landmarks: p.landmarks });
      options.onItem?.(out.length);
    }
    return out;
  } finally {
    await predictor.release();
  }
}
