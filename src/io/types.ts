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
   * rescale slope/intercept (8-bit images: 0..255); colour images are reduced to luma; MONOCHROME1 is
   * inverted within `valueRange` so that bright means dense for the model, as with MONOCHROME2.
   */
  data: Float32Array;
  /** The range `data` can take by the file's definition (not the observed min/max): [0, 255] for 8 bits. */
  valueRange: [number, number];
}

export interface ReadImageOptions {
  /** Refuse images with more pixels than this before taking memory for them (default 268402689, as sharp's limitInputPixels). */
  maxPixels?: number;
}

/** What `lmk inspect` prints. Stats are over the stored pixel values, before any LUT, rescale or inversion. */
export interface ImageInspection {
  width: number;
  height: number;
  bitsStored: number;
  photometric: string;
  modality: string | null;
  transferSyntax: string | null;
  pixelSpacingMm: [number, number] | null;
  stats: { min: number; max: number; mean: number };
}
