/**
 * The shapes that flow between data loading, training and evaluation.
 * Coordinates are (x, y) = (column, row) in pixels of the original image, pixel centres at integers.
 */

export type Point = [number, number];

export type FormatName = 'isbi2015' | 'hand-dha' | 'chest-shenzhen' | 'csv';

/** How errors are measured for a data set (see src/eval). */
export type PhysicalUnit = 'mm' | 'px';

/** The published benchmark's partition an item belongs to (see src/data/splits.ts). */
export type SplitName = 'train' | 'test';

export interface LandmarkItem {
  /** Stable identifier: '001' for ISBI, the DHA id, 'CHNCXR_0001_0' for the chest set, the image path for csv. */
  id: string;
  /** Absolute path of the image file. */
  imagePath: string;
  /** Ground truth in original image pixels, one per landmark. */
  landmarks: Point[];
  /** Original image size in pixels. */
  width: number;
  height: number;
  /** Millimetres per original pixel when known (ISBI 0.1; hand: 50 mm / |p1 - p5|; csv: spacing_mm). */
  mmPerPixel?: number;
  /** The published split this item is in; undefined for items in neither (the hand set's one validation image). */
  split?: SplitName;
}

export interface MissingItem {
  id: string;
  /** What is missing or wrong, naming the file (and line where it applies). */
  reason: string;
}

export interface Dataset {
  format: FormatName;
  root: string;
  landmarkCount: number;
  /** Items with both annotations and an image, in the format's canonical order (sorted ids). */
  items: LandmarkItem[];
  /** Items named by annotations or images that could not be used, with the reason. */
  missing: MissingItem[];
  /** Default model grid (h x w) for this format: head 512x416, hand 512x368, chest 512x512. */
  grid: { height: number; width: number };
  /** Unit in which errors are reported for this format by default. */
  unit: PhysicalUnit;
}
