/** Image input: any supported file to one grey float channel plus metadata. */
export { readImage, readImageInfo, readImageReduced, reduceImage, shrinkFactor, inspectImage } from './read';
export { detectFormat } from './detect';
export { ImageReadError, DEFAULT_MAX_PIXELS } from './errors';
export { TRANSFER_SYNTAXES, readDicomReferenceAttributes } from './dicom';
export type { DicomReferenceAttributes } from './dicom';
export type { DecodedImage, ImageFormat, ImageInfo, ImageInspection, ReadImageOptions, ReadReducedOptions, ReducedImage } from './types';
export { displayFunction, toDisplayUnit, describeDisplay } from './display';
export type { Display, VoiWindow } from './display';
