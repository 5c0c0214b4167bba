/** Cephalometric measurements (angles, distances and classes) from the ISBI 2015 landmarks. */
export { cephalometricMeasurements, measuresCephalograms, MEASUREMENT_NAMES, MEASUREMENT_DEFINITIONS } from './measurements';
export type { Measurement, Measurements, MeasurementName, MeasurementUnit } from './measurements';
