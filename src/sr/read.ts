import { data as dcmjsData } from 'dcmjs';
import type { Point } from '../data';
import { fromScoordPoint } from './coordinates';
import { SR_CODES } from './build';

/** One landmark as a landmark SR holds it. */
export interface SrLandmark {
  /** The finding's meaning: the landmark's name, or `landmark N`. */
  name: string;
  trackingIdentifier: string;
  trackingUid: string;
  /** In lmk's convention (pixel centres at integers), as the Predictor gave it up to the float32 of GraphicData. */
  point: Point;
  score: number;
  /** The SOP Instance UID of the image the point is selected from. */
  imageSopInstanceUid: string;
}

/** One measurement group of numbers (TID 1501): a cephalometric measurement and its class, as lmk writes them. */
export interface SrMeasurement {
  /** The code value after `ceph-` (ANB, SNB, ...). */
  name: string;
  value: number;
  /** The UCUM code of its unit (deg, mm, {pixel}, 1). */
  unit: string;
  /** The class as coded (`C1`...), where the group has one. */
  classCode?: string;
}

export interface LandmarkSrContents {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  /** The images in the Image Library. */
  images: { sopClassUid: string; sopInstanceUid: string }[];
  landmarks: SrLandmark[];
  measurements: SrMeasurement[];
  /** The landmarks were found on the mirrored image. */
  mirrored: boolean;
}

type Item = Record<string, unknown>;

/** The characters WHATWG's "latin1" (windows-1252) decoder gives for bytes 0x80-0x9f, where it differs from Latin-1. */
const WINDOWS_1252_HIGH = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f'
  + '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * dcmjs 0.51 decodes text inside sequence items as windows-1252 whatever SpecificCharacterSet says (items are
 * read by a fresh stream with the default decoder); for a UTF-8 file this recovers the bytes and decodes them.
 */
function utf8FromWindows1252(text: string): string {
  const bytes = Uint8Array.from(text, (ch) => {
    const i = WINDOWS_1252_HIGH.indexOf(ch);
    return i >= 0 ? 0x80 + i : ch.charCodeAt(0);
  });
  return Buffer.from(bytes).toString('utf8');
}

const asArray = (v: unknown): Item[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]) as Item[];
const conceptOf = (item: Item): Item | undefined => asArray(item.ConceptNameCodeSequence)[0];
const isConcept = (item: Item, code: { CodeValue: string; CodingSchemeDesignator: string }): boolean => {
  const c = conceptOf(item);
  return c?.CodeValue === code.CodeValue && c?.CodingSchemeDesignator === code.CodingSchemeDesignator;
};
const childrenOf = (item: Item): Item[] => asArray(item.ContentSequence);

/**
 * Reads back what buildLandmarkSr wrote (any TID 1500 report whose landmark groups hold one SCOORD POINT
 * each): the points in lmk's convention, names and scores, and lmk's cephalometric measurement groups.
 * Throws, naming `source`, on anything else.
 */
export function readLandmarkSr(bytes: Uint8Array, source = 'SR'): LandmarkSrContents {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let ds: Item;
  try {
    ds = dcmjsData.DicomMetaDictionary.naturalizeDataset(dcmjsData.DicomMessage.readFile(buffer).dict);
  } catch (err) {
    throw new Error(`${source}: not a readable DICOM file (${(err as Error).message})`);
  }
  if (!isConcept(ds, SR_CODES.imagingMeasurementReport)) throw new Error(`${source}: not a TID 1500 Imaging Measurement Report`);
  const fail = (problem: string): never => { throw new Error(`${source}: ${problem}`); };
  const itemText = String(ds.SpecificCharacterSet ?? '').includes('ISO_IR 192') ? utf8FromWindows1252 : (t: string) => t;
  const library = childrenOf(ds).find((i) => isConcept(i, SR_CODES.imageLibrary));
  const images = (library ? childrenOf(library).flatMap(childrenOf) : [])
    .filter((i) => i.ValueType === 'IMAGE')
    .map((i) => {
      const ref = asArray(i.ReferencedSOPSequence)[0] ?? {};
      return { sopClassUid: String(ref.ReferencedSOPClassUID), sopInstanceUid: String(ref.ReferencedSOPInstanceUID) };
    });
  const measurements = childrenOf(ds).find((i) => isConcept(i, SR_CODES.imagingMeasurements)) ?? fail('no Imaging Measurements container');
  const groups = childrenOf(measurements).filter((g) => isConcept(g, SR_CODES.measurementGroup));
  // Landmark groups hold an image region; the others are measurements of numbers.
  const hasRegion = (g: Item) => childrenOf(g).some((i) => isConcept(i, SR_CODES.imageRegion));
  const numberGroups = groups.filter((g) => !hasRegion(g)).map((group): SrMeasurement | undefined => {
    const num = childrenOf(group).find((i) => i.ValueType === 'NUM' && String(conceptOf(i)?.CodeValue ?? '').startsWith('ceph-'));
    if (!num) return undefined;
    const measured = asArray(num.MeasuredValueSequence)[0] ?? {};
    const value = measured.NumericValue;
    const cls = childrenOf(group).find((i) => i.ValueType === 'CODE');
    const classValue = cls ? String(asArray(cls.ConceptCodeSequence)[0]?.CodeValue ?? '') : '';
    return {
      name: String(conceptOf(num)!.CodeValue).slice('ceph-'.length),
      value: Number(Array.isArray(value) ? value[0] : value),
      unit: String(asArray(measured.MeasurementUnitsCodeSequence)[0]?.CodeValue ?? ''),
      ...(classValue ? { classCode: classValue.slice(classValue.lastIndexOf('-') + 1) } : {}),
    };
  }).filter((m): m is SrMeasurement => m !== undefined);
  const landmarks = groups.filter(hasRegion).map((group, k): SrLandmark => {
    const items = childrenOf(group);
    const find = (code: typeof SR_CODES.finding): Item => items.find((i) => isConcept(i, code)) ?? fail(`measurement group ${k + 1} has no ${code.CodeMeaning}`);
    const region = find(SR_CODES.imageRegion);
    const data = asArray(region.GraphicData) as unknown as number[];
    if (region.GraphicType !== 'POINT' || data.length !== 2) fail(`measurement group ${k + 1}: the image region is not one POINT`);
    const image = asArray(asArray(region.ContentSequence)[0]?.ReferencedSOPSequence)[0];
    const certainty = find(SR_CODES.certaintyOfFinding);
    const value = asArray(certainty.MeasuredValueSequence)[0]?.NumericValue;
    return {
      name: itemText(String(asArray(find(SR_CODES.finding).ConceptCodeSequence)[0]?.CodeMeaning ?? '')),
      trackingIdentifier: itemText(String(find(SR_CODES.trackingIdentifier).TextValue)),
      trackingUid: String(find(SR_CODES.trackingUid).UID),
      point: fromScoordPoint([data[0], data[1]]),
      score: Number(Array.isArray(value) ? value[0] : value),
      imageSopInstanceUid: String(image?.ReferencedSOPInstanceUID ?? fail(`measurement group ${k + 1}: the point names no image`)),
    };
  });
  return {
    sopInstanceUid: String(ds.SOPInstanceUID),
    seriesInstanceUid: String(ds.SeriesInstanceUID),
    studyInstanceUid: String(ds.StudyInstanceUID),
    images,
    landmarks,
    measurements: numberGroups,
    mirrored: childrenOf(ds).some((i) => conceptOf(i)?.CodeValue === 'image-mirrored'),
  };
}
