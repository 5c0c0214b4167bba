/**
 * The eight cephalometric measurements of the ISBI 2015 challenge's second task and the class each gives
 * (Wang et al. 2016, "A benchmark for comparison of dental radiography analysis algorithms", Medical Image
 * Analysis 31, Tables 2-3; the same definitions in Wang et al. 2018, J Healthc Eng, "Automatic analysis of
 * lateral cephalograms based on multiresolution decision tree regression voting", Table 1). Points are the
 * challenge's nineteen (L1 sella ... L19 articulare) in image coordinates: x to the right, y down, the face
 * towards +x as in the challenge's images. Angles are in degrees; MW is in mm where the pixel spacing is
 * known, otherwise in pixels (and then has no class, its boundaries being in mm). This module knows no
 * model and no file format.
 */
import { ISBI2015_LANDMARK_NAMES } from '../data/landmark-names';
import type { Point } from '../data/types';

export const MEASUREMENT_NAMES = ['ANB', 'SNB', 'SNA', 'ODI', 'APDI', 'FHI', 'FMA', 'MW'] as const;
export type MeasurementName = (typeof MEASUREMENT_NAMES)[number];

export type MeasurementUnit = 'deg' | 'mm' | 'px' | 'ratio';

export interface Measurement {
  value: number;
  unit: MeasurementUnit;
  /** The challenge's class, 1-based (C1 is the normal range), or null where it cannot be given (MW in pixels). */
  class: number | null;
  /** What the class means. */
  label: string | null;
}

export type Measurements = Record<MeasurementName, Measurement>;

/** How each measurement is defined, for tables, CSV headers and SR content. */
export const MEASUREMENT_DEFINITIONS: Record<MeasurementName, { title: string; unit: 'deg' | 'mm' | 'ratio'; classes: string[] }> = {
  ANB: { title: 'ANB angle (SNA - SNB)', unit: 'deg', classes: ['Class I (normal), 3.2-5.7', 'Class II, > 5.7', 'Class III, < 3.2'] },
  SNB: { title: 'SNB angle', unit: 'deg', classes: ['normal mandible, 74.6-78.7', 'retrognathic mandible, < 74.6', 'prognathic mandible, > 78.7'] },
  SNA: { title: 'SNA angle', unit: 'deg', classes: ['normal maxilla, 79.4-83.2', 'prognathic maxilla, > 83.2', 'retrognathic maxilla, < 79.4'] },
  ODI: { title: 'overbite depth indicator', unit: 'deg', classes: ['normal, 68.4-80.5', 'deep bite tendency, > 80.5', 'open bite tendency, < 68.4'] },
  APDI: { title: 'anteroposterior dysplasia indicator', unit: 'deg', classes: ['normal, 77.6-85.2', 'Class II tendency, < 77.6', 'Class III tendency, > 85.2'] },
  FHI: { title: 'facial height index (S-Go / N-Me)', unit: 'ratio', classes: ['normal, 0.65-0.75', 'short face tendency, > 0.75', 'long face tendency, < 0.65'] },
  FMA: { title: 'Frankfort mandibular plane angle (SN to Go-Gn, as the challenge defines it)', unit: 'deg', classes: ['normal, 26.8-31.4', 'high angle tendency, > 31.4', 'low angle tendency, < 26.8'] },
  MW: { title: 'modified Wits (signed UIT-LIT distance)', unit: 'mm', classes: ['normal, 2-4.5 mm', 'edge to edge, 0 mm', 'anterior cross bite, < 0 mm (and 0-2 mm)', 'large overjet, > 4.5 mm'] },
};

/** The landmarks the measurements use, as 0-based indices of the challenge's nineteen. */
const S = 0, N = 1, OR = 2, PO = 3, A = 4, B = 5, POG = 6, ME = 7, GN = 8, GO = 9, LIT = 10, UIT = 11, PNS = 16, ANS = 17;
const CEPHALOMETRIC_LANDMARKS = ISBI2015_LANDMARK_NAMES.length;

type Vec = [number, number];
const sub = (p: Point, q: Point): Vec => [p[0] - q[0], p[1] - q[1]];
const cross = (u: Vec, v: Vec) => u[0] * v[1] - u[1] * v[0];
const dot = (u: Vec, v: Vec) => u[0] * v[0] + u[1] * v[1];
const degrees = (radians: number) => (radians * 180) / Math.PI;

/** The unsigned angle between two directions, 0-180 degrees. */
function angleBetween(u: Vec, v: Vec): number {
  return degrees(Math.abs(Math.atan2(cross(u, v), dot(u, v))));
}

/** The angle at vertex `at` of the rays to `p` and `q`. */
function angleAt(at: Point, p: Point, q: Point): number {
  return angleBetween(sub(p, at), sub(q, at));
}

/**
 * The palatal plane (PNS -> ANS) against Frankfort horizontal (Po -> Or): negative when the palatal plane
 * tilts upwards anteriorly, positive when downwards (Kim 1974 and 1978; the ODI and APDI terms).
 */
function palatalToFrankfort(p: Point[]): number {
  const fh = sub(p[OR], p[PO]);
  const pp = sub(p[ANS], p[PNS]);
  // y grows downwards: an anterior end that rises has a negative cross product with FH.
  return Math.sign(cross(fh, pp)) * angleBetween(fh, pp);
}

/** The class of a value against a normal range [lo, hi] (C1, boundaries included), C2 above or below. */
function rangeClass(value: number, lo: number, hi: number, c2Above: boolean): number {
  if (value >= lo && value <= hi) return 1;
  return (value > hi) === c2Above ? 2 : 3;
}

function mwClass(mm: number): number {
  if (mm >= 2 && mm <= 4.5) return 1;
  if (mm > 4.5) return 4;
  if (mm === 0) return 2;
  // The published table names C3 "< 0 mm" and leaves 0-2 mm unnamed; the challenge's classifier, as it
  // circulates, puts everything not C1, C2 or C4 in C3, so the comparisons here do too.
  return 3;
}

function measurement(name: MeasurementName, value: number, unit: MeasurementUnit, cls: number | null): Measurement {
  return { value, unit, class: cls, label: cls === null ? null : MEASUREMENT_DEFINITIONS[name].classes[cls - 1] };
}

/**
 * The eight measurements of one image's nineteen landmarks (original pixels). `mmPerPixel` (isotropic,
 * as cephalograms are) turns MW into mm; without it MW is in pixels and unclassed.
 */
export function cephalometricMeasurements(points: readonly Point[], mmPerPixel?: number): Measurements {
  if (points.length !== CEPHALOMETRIC_LANDMARKS) throw new RangeError(`cephalometric measurements need the ${CEPHALOMETRIC_LANDMARKS} ISBI 2015 landmarks, got ${points.length}`);
  if (mmPerPixel !== undefined && !(mmPerPixel > 0 && Number.isFinite(mmPerPixel))) throw new RangeError(`pixel spacing must be a positive number of mm, got ${mmPerPixel}`);
  const p = points as Point[];
  const sna = angleAt(p[N], p[S], p[A]);
  const snb = angleAt(p[N], p[S], p[B]);
  const anb = sna - snb;
  // ODI: the AB plane to the mandibular plane (Me -> Go), plus the palatal plane to FH.
  const odi = angleBetween(sub(p[GO], p[ME]), sub(p[A], p[B])) + palatalToFrankfort(p);
  // APDI: the facial angle (FH to N-Pog), plus the AB plane to the facial plane (negative when B lies
  // behind A), plus the palatal plane to FH.
  const facial = sub(p[POG], p[N]);
  const ab = sub(p[B], p[A]);
  const abToFacial = -Math.sign(cross(facial, ab)) * angleBetween(facial, ab);
  const apdi = angleBetween(sub(p[PO], p[OR]), facial) + abToFacial + palatalToFrankfort(p);
  const fhi = Math.hypot(...sub(p[GO], p[S])) / Math.hypot(...sub(p[ME], p[N]));
  const fma = angleBetween(sub(p[N], p[S]), sub(p[GN], p[GO]));
  // MW: the distance between the incisal incisions, positive when the upper one is anterior (+x).
  const incisors = sub(p[UIT], p[LIT]);
  const mwPixels = (incisors[0] < 0 ? -1 : 1) * Math.hypot(...incisors);
  const mw = mmPerPixel === undefined
    ? measurement('MW', mwPixels, 'px', null)
    : measurement('MW', mwPixels * mmPerPixel, 'mm', mwClass(mwPixels * mmPerPixel));
  return {
    ANB: measurement('ANB', anb, 'deg', rangeClass(anb, 3.2, 5.7, true)),
    SNB: measurement('SNB', snb, 'deg', rangeClass(snb, 74.6, 78.7, false)),
    SNA: measurement('SNA', sna, 'deg', rangeClass(sna, 79.4, 83.2, true)),
    ODI: measurement('ODI', odi, 'deg', rangeClass(odi, 68.4, 80.5, true)),
    APDI: measurement('APDI', apdi, 'deg', rangeClass(apdi, 77.6, 85.2, false)),
    FHI: measurement('FHI', fhi, 'ratio', rangeClass(fhi, 0.65, 0.75, true)),
    FMA: measurement('FMA', fma, 'deg', rangeClass(fma, 26.8, 31.4, true)),
    MW: mw,
  };
}

/** Whether a model's landmarks (by code) are the challenge's nineteen, so that its predictions can be measured. */
export function measuresCephalograms(codes: readonly string[]): boolean {
  return codes.length === ISBI2015_LANDMARK_NAMES.length && codes.every((c, i) => c === ISBI2015_LANDMARK_NAMES[i].code);
}
