import { MissingItem, Point, SplitName } from '../types';

/** One annotated item as a format's index lists it, before its image header is read. */
export interface IndexEntry {
  id: string;
  /** Absolute image path, when an image was found. */
  imagePath?: string;
  /** Where the format looked, for the 'no image' message. */
  imageLookedFor?: string;
  landmarks: Point[];
  /** Landmarks are fractions of width and height (chest set), scaled once the image size is known. */
  normalized?: boolean;
  mmPerPixel?: number;
  split?: SplitName;
}

export interface FormatIndex {
  landmarkCount: number;
  entries: IndexEntry[];
  /** Problems found while indexing (malformed annotations, images without annotations). */
  problems: MissingItem[];
}
