import type { Display } from './display';

/** What every decoder reports: one grey channel plus what is known about its physical meaning. */

export type ImageFormat = 'jpeg' | 'png' | 'tiff' | 'webp' | 'bmp' | 'mha' | 'dicom';

/** Header facts, read without decoding pixels. */
export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  /** Significant bits per stored sample (8 for ordinary JPEG/PNG/BMP, 16 for 16-bit PNG, BitsStored for DICOM). */
  bitsStored: number;
  /** DICOM PhotometricInterpretation, or what the other formats amount to ('MONOCHROME2' grey, 'RGB' colour). */
  photometric: string;
  /** Millimetres per pixel as [row, column] when the file says so (DICOM PixelSpacing/ImagerPixelSpacing, MetaImage ElementSpacing). */
  pixelSpacingMm?: [number, number];
  /** DICOM only. */
  modality?: string;
  /** DICOM only: the transfer syntax UID of the file. */
  transferSyntax?: string;
}

export interface DecodedImage extends ImageInfo {
  /**
   * Single channel, row-major, width x height. Values are in the stored range after the Modality LUT or
   * rescale slope/intercept (8-bit images: 0..255); colour images are reduced to luma. MONOCHROME1 is not
   * inverted here: `display` does it, after the window.
   */
  data: Float32Array;
  /** The range `data` can take by the file's definition (not the observed min/max): [0, 255] for 8 bits; a Modality LUT's from its entries. */
  valueRange: [number, number];
  /** How `data` is shown (DICOM's VOI and MONOCHROME1); absent: linearly over `valueRange`. */
  display?: Display;
}

export interface ReadImageOptions {
  /** Refuse images with more pixels than this before taking memory for them (default 268402689, as sharp's limitInputPixels). */
  maxPixels?: number;
}

/** What `lmk inspect` prints. Stats are over the stored pixel values, before any LUT, rescale or inversion. */
export interface ImageInspection {
  /** How the values are shown (and reach the model): the window or LUT used, or the value range. */
  window: string;
  width: number;
  height: number;
  bitsStored: number;
  photometric: string;
  modality: string | null;
  transferSyntax: string | null;
  pixelSpacingMm: [number, number] | null;
  stats: { min: number; max: number; mean: number };
}

/**
 * An image decoded at 1/`shrink` of its size, for resampling to a smaller model grid: pixel k covers
 * original pixels [k * shrink, (k + 1) * shrink) (so its centre is original coordinate
 * shrink * (k + 0.5) - 0.5), and a partial last column or row is dropped. JPEG files are scaled by
 * libjpeg while they decode; other images are decoded whole and reduced by shrink x shrink box means.
 */
export interface ReducedImage {
  /** Header facts of the original image (its full width and height). */
  info: ImageInfo;
  shrink: number;
  width: number;
  height: number;
  data: Float32Array;
  valueRange: [number, number];
  display?: Display;
}

export interface ReadReducedOptions extends ReadImageOptions {
  /** The reduced image keeps at least this many columns and rows: the largest shrink of 8, 4, 2, 1 that does. */
  minWidth: number;
  minHeight: number;
}
