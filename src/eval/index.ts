/** Scoring landmark predictions: MRE/SDR under the physical and GU2Net protocols. */
export * from './metrics';
export * from './protocols';
export * from './predictions';
export * from './format';
export * from './baseline';
export * from './measurements';
