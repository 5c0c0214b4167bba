import { existsSync, readFileSync } from 'fs';
import { createHash } from 'crypto';
import { basename, dirname, extname, join } from 'path';
import { data as dcmjsData } from 'dcmjs';
import { MEASUREMENT_DEFINITIONS, MEASUREMENT_NAMES, Measurements, MeasurementUnit } from '../cephalometry';
import type { Point } from '../data';
import { readDicomReferenceAttributes, DicomReferenceAttributes } from '../io';
import { MODEL_NAME_KEY } from '../models/shipped';
import { readModelMetadata } from '../onnx';
import { toScoordPoint } from './coordinates';
import { derivedUid } from './uid';

/** Comprehensive SR: 2D spatial coordinates on the source image (a projection radiograph has no 3D frame). */
export const COMPREHENSIVE_SR_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/**
 * The private coding scheme of lmk's concepts: `landmark-N` is the model's N-th landmark; `ceph-M` is the
 * ISBI 2015 cephalometric measurement M (ANB, SNB, SNA, ODI, APDI, FHI, FMA, MW), `ceph-M-class` its
 * classification and `ceph-M-Cn` class n of it. No public scheme has codes for the ODI, APDI or the
 * challenge's MW, so all eight use this one alike.
 */
export const LANDMARK_CODING_SCHEME = '99LMK';

const lmkCode = (value: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: LANDMARK_CODING_SCHEME, CodeMeaning: lo(meaning) });

/** A DICOM UID (PS3.5 9.1): digit components without leading zeros, separated by dots, at most 64 characters. */
export function uidProblem(uid: string): string | undefined {
  if (uid.length === 0) return 'it is empty';
  if (uid.length > 64) return `it has ${uid.length} characters, at most 64 are allowed`;
  for (const component of uid.split('.')) {
    if (!/^[0-9]+$/.test(component)) return component === '' ? 'it has an empty component' : `component '${component}' is not all digits`;
    if (component.length > 1 && component.startsWith('0')) return `component '${component}' has a leading zero`;
  }
  return undefined;
}

interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

const dcm = (value: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: 'DCM', CodeMeaning: meaning });

/** The coded concepts of the report (PS3.16 Annex D), by what they stand for. */
export const SR_CODES = {
  imagingMeasurementReport: dcm('126000', 'Imaging Measurement Report'),
  languageOfContent: dcm('121049', 'Language of Content Item and Descendants'),
  english: { CodeValue: 'en', CodingSchemeDesignator: 'RFC5646', CodeMeaning: 'English' },
  observerType: dcm('121005', 'Observer Type'),
  device: dcm('121007', 'Device'),
  deviceObserverUid: dcm('121012', 'Device Observer UID'),
  deviceObserverName: dcm('121013', 'Device Observer Name'),
  deviceObserverManufacturer: dcm('121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: dcm('121015', 'Device Observer Model Name'),
  procedureReported: dcm('121058', 'Procedure reported'),
  imagingProcedure: { CodeValue: '363679005', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Imaging procedure' },
  imageLibrary: dcm('111028', 'Image Library'),
  imageLibraryGroup: dcm('126200', 'Image Library Group'),
  imagingMeasurements: dcm('126010', 'Imaging Measurements'),
  measurementGroup: dcm('125007', 'Measurement Group'),
  trackingIdentifier: dcm('112039', 'Tracking Identifier'),
  trackingUid: dcm('112040', 'Tracking Unique Identifier'),
  finding: dcm('121071', 'Finding'),
  imageRegion: dcm('111030', 'Image Region'),
  certaintyOfFinding: dcm('111012', 'Certainty of Finding'),
  noUnits: { CodeValue: '1', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'no units' },
  degrees: { CodeValue: 'deg', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'degree' },
  millimetres: { CodeValue: 'mm', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'millimeter' },
  pixels: { CodeValue: '{pixel}', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'pixel' },
  algorithmName: dcm('111001', 'Algorithm Name'),
  algorithmVersion: dcm('111003', 'Algorithm Version'),
} satisfies Record<string, Code>;

const UNIT_CODES: Record<MeasurementUnit, Code> = {
  deg: SR_CODES.degrees, mm: SR_CODES.millimetres, px: SR_CODES.pixels, ratio: SR_CODES.noUnits,
};

/** The model as the SR names it (device observer, algorithm identification, equipment). */
export interface SrAlgorithm {
  /** E.g. the model file's name without `.onnx`. */
  name: string;
  /** Identifies the weights, e.g. `sha256:` and the start of the model file's hash. */
  version: string;
}

export interface LandmarkSrOptions {
  /** The source image: its DICOM bytes, or the attributes read from them (readDicomReferenceAttributes). */
  source: Uint8Array | DicomReferenceAttributes;
  /** What `Predictor.predict` returned for that image: landmarks in its pixels (lmk's convention), scores, and measurements where it has them. */
  prediction: { landmarks: Point[]; scores: number[]; measurements?: Measurements; mirrored?: boolean };
  algorithm: SrAlgorithm;
  /** Finding names per landmark (default `landmark N`, 1-based). */
  landmarkNames?: string[];
  /** Content date and time (default: now). */
  created?: Date;
}

export interface LandmarkSr {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** The Part-10 file. */
  bytes: Uint8Array;
}

let version: string | undefined;

/**
 * This lmk's version, for SoftwareVersions and the implementation version: from lmk's package.json, the first
 * one up from this file (src/ and dist/ alike). Read when the first SR is built, not on import, so that code
 * bundled without the package (a CLI compiled elsewhere) still loads.
 */
export function lmkVersion(): string {
  if (version !== undefined) return version;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lmk' && pkg.version) return (version = pkg.version);
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of lmk above ${__dirname}: cannot name lmk's version in the SR`);
  }
}

/** Name and version of a model file for `LandmarkSrOptions.algorithm`: its shipped name or file name, and the file's SHA-256 (first 16 hex digits). */
export function modelAlgorithm(modelFile: string): SrAlgorithm {
  const bytes = readFileSync(modelFile);
  const hash = createHash('sha256').update(bytes).digest('hex');
  // A shipped model is named by its name (its file is models/NAME/model.onnx), others by their file.
  const shippedName = readModelMetadata(bytes)[MODEL_NAME_KEY];
  const name = (shippedName ?? basename(modelFile, extname(modelFile))).slice(0, 64) || 'lmk model';
  return { name, version: `sha256:${hash.slice(0, 16)}` };
}

/** The name of landmark `k` (0-based) in the report. */
export function landmarkName(k: number, names?: string[]): string {
  return names?.[k] ?? `landmark ${k + 1}`;
}

/** DICOM DA and TM of a moment (UTC; SR content times carry no zone unless TimezoneOffsetFromUTC says so). */
function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}

/** LO values are at most 64 characters. */
const lo = (s: string): string => s.slice(0, 64);

/**
 * A TID 1500 Measurement Report (Comprehensive SR) of one image's landmarks: the image in the Image Library,
 * and per landmark one Measurement Group (TID 1410) with tracking identifier and UID, the landmark as the
 * finding, its point as an Image Region SCOORD POINT selected from the image, and its score as a Certainty of
 * Finding NUM (unitless, the Predictor's score as it is) with the algorithm's name and version. Patient and
 * study attributes are the source's; series and instance UIDs are derived from the study, the model and the
 * prediction, so that writing the same result again makes the same instance.
 */
export function buildLandmarkSr(o: LandmarkSrOptions): LandmarkSr {
  const source = o.source instanceof Uint8Array ? readDicomReferenceAttributes(o.source, 'source image') : o.source;
  // An SR that references a malformed UID is refused whole by strict readers (dcmtk: "violates VR definition").
  for (const [what, uid] of [['SOP Instance UID', source.sopInstanceUid], ['SOP Class UID', source.sopClassUid], ['Study Instance UID', source.studyInstanceUid], ['Series Instance UID', source.seriesInstanceUid]] as const) {
    const problem = uidProblem(uid);
    if (problem) throw new Error(`the source's ${what} '${uid}' breaks the DICOM UID rules (${problem}), so an SR referencing it would be unreadable: none written`);
  }
  const { landmarks, scores, measurements } = o.prediction;
  if (landmarks.length === 0 || scores.length !== landmarks.length) {
    throw new RangeError(`an SR needs one score per landmark, got ${landmarks.length} landmarks and ${scores.length} scores`);
  }
  const { algorithm } = o;
  const content = JSON.stringify([landmarks, scores, o.prediction.mirrored ?? false]);
  const sopInstanceUid = derivedUid('lmk SR instance', source.sopInstanceUid, algorithm.name, algorithm.version, content);
  const seriesInstanceUid = derivedUid('lmk SR series', source.studyInstanceUid, algorithm.name, algorithm.version);
  const deviceUid = derivedUid('lmk device', algorithm.name, algorithm.version);
  const { date, time } = dicomDateTime(o.created ?? new Date());

  const imageReference = { ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid };
  const text = (relationship: string, concept: Code, value: string) => ({
    RelationshipType: relationship, ValueType: 'TEXT', ConceptNameCodeSequence: [concept], TextValue: value,
  });
  const code = (relationship: string, concept: Code, value: Code) => ({
    RelationshipType: relationship, ValueType: 'CODE', ConceptNameCodeSequence: [concept], ConceptCodeSequence: [value],
  });
  const uidRef = (relationship: string, concept: Code, uid: string) => ({
    RelationshipType: relationship, ValueType: 'UIDREF', ConceptNameCodeSequence: [concept], UID: uid,
  });
  const container = (concept: Code, items: object[], template?: string) => ({
    RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ConceptNameCodeSequence: [concept], ContinuityOfContent: 'SEPARATE',
    ...(template ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: template }] } : {}),
    ContentSequence: items,
  });

  const groups = landmarks.map((point, k) => {
    const name = landmarkName(k, o.landmarkNames);
    const [column, row] = toScoordPoint(point);
    return container(SR_CODES.measurementGroup, [
      text('HAS OBS CONTEXT', SR_CODES.trackingIdentifier, lo(name !== landmarkName(k) ? `landmark ${k + 1}: ${name}` : name)),
      uidRef('HAS OBS CONTEXT', SR_CODES.trackingUid, derivedUid('lmk landmark', sopInstanceUid, String(k))),
      code('CONTAINS', SR_CODES.finding, { CodeValue: `landmark-${k + 1}`, CodingSchemeDesignator: LANDMARK_CODING_SCHEME, CodeMeaning: lo(name) }),
      {
        RelationshipType: 'CONTAINS', ValueType: 'SCOORD', ConceptNameCodeSequence: [SR_CODES.imageRegion],
        GraphicType: 'POINT', GraphicData: [column, row],
        ContentSequence: [{ RelationshipType: 'SELECTED FROM', ValueType: 'IMAGE', ReferencedSOPSequence: [imageReference] }],
      },
      {
        RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: [SR_CODES.certaintyOfFinding],
        MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [SR_CODES.noUnits], NumericValue: Number(scores[k].toFixed(6)) }],
        ContentSequence: [
          text('HAS CONCEPT MOD', SR_CODES.algorithmName, lo(algorithm.name)),
          text('HAS CONCEPT MOD', SR_CODES.algorithmVersion, lo(algorithm.version)),
        ],
      },
    ], '1410');
  });
  // TID 1501 groups: each measurement as a NUM (UCUM units) and its class as a qualitative evaluation.
  const measurementGroups = measurements ? MEASUREMENT_NAMES.map((m) => {
    const value = measurements[m];
    const definition = MEASUREMENT_DEFINITIONS[m];
    return container(SR_CODES.measurementGroup, [
      text('HAS OBS CONTEXT', SR_CODES.trackingIdentifier, lo(`${m}: ${definition.title}`)),
      uidRef('HAS OBS CONTEXT', SR_CODES.trackingUid, derivedUid('lmk measurement', sopInstanceUid, m)),
      {
        RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: [lmkCode(`ceph-${m}`, `${m} (${definition.title})`)],
        MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [UNIT_CODES[value.unit]], NumericValue: Number(value.value.toFixed(4)) }],
        ContentSequence: [
          text('HAS CONCEPT MOD', SR_CODES.algorithmName, lo(algorithm.name)),
          text('HAS CONCEPT MOD', SR_CODES.algorithmVersion, lo(algorithm.version)),
        ],
      },
      ...(value.class !== null ? [code('CONTAINS', lmkCode(`ceph-${m}-class`, `${m} class`), lmkCode(`ceph-${m}-C${value.class}`, `C${value.class}: ${value.label}`))] : []),
    ], '1501');
  }) : [];

  const dataset: Record<string, unknown> = {
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    CodingSchemeIdentificationSequence: [{
      CodingSchemeDesignator: LANDMARK_CODING_SCHEME,
      CodingSchemeName: 'lmk: landmark-N is the model\'s N-th output; ceph-M the ISBI 2015 measurement M',
      CodingSchemeResponsibleOrganization: 'lmk',
    }],
    // Patient and General Study: the source's (type 2 attributes present, empty where the source has none).
    PatientName: source.patientName ?? '',
    PatientID: source.patientId ?? '',
    PatientBirthDate: source.patientBirthDate ?? '',
    PatientSex: source.patientSex ?? '',
    StudyInstanceUID: source.studyInstanceUid,
    StudyDate: source.studyDate ?? '',
    StudyTime: source.studyTime ?? '',
    ReferringPhysicianName: source.referringPhysicianName ?? '',
    StudyID: source.studyId ?? '',
    AccessionNumber: source.accessionNumber ?? '',
    ...(source.studyDescription ? { StudyDescription: source.studyDescription } : {}),
    // SR Document Series and General Equipment.
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: 900,
    SeriesDescription: lo(`lmk landmarks (${algorithm.name})`),
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'lmk',
    ManufacturerModelName: lo(algorithm.name),
    SoftwareVersions: [`lmk ${lmkVersion()}`, lo(algorithm.version)],
    // SR Document General.
    InstanceNumber: 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: date,
    ContentTime: time,
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{
      StudyInstanceUID: source.studyInstanceUid,
      ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUid, ReferencedSOPSequence: [imageReference] }],
    }],
    // SR Document Content: the root container of TID 1500.
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [SR_CODES.imagingMeasurementReport],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      code('HAS CONCEPT MOD', SR_CODES.languageOfContent, SR_CODES.english),
      code('HAS OBS CONTEXT', SR_CODES.observerType, SR_CODES.device),
      uidRef('HAS OBS CONTEXT', SR_CODES.deviceObserverUid, deviceUid),
      text('HAS OBS CONTEXT', SR_CODES.deviceObserverName, 'lmk'),
      text('HAS OBS CONTEXT', SR_CODES.deviceObserverManufacturer, 'lmk'),
      text('HAS OBS CONTEXT', SR_CODES.deviceObserverModelName, lo(algorithm.name)),
      code('HAS CONCEPT MOD', SR_CODES.procedureReported, SR_CODES.imagingProcedure),
      container(SR_CODES.imageLibrary, [
        container(SR_CODES.imageLibraryGroup, [{ RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ReferencedSOPSequence: [imageReference] }]),
      ]),
      container(SR_CODES.imagingMeasurements, [...groups, ...measurementGroups]),
      // The Predictor found the landmarks on the mirrored image (the patient faces the other way).
      ...(o.prediction.mirrored ? [text('CONTAINS', lmkCode('image-mirrored', 'Image mirrored for detection'), 'landmarks found on the mirrored image (the patient faces the other way); points are in this image')] : []),
    ],
  };

  // dcmjs writes text as UTF-8. Plain ASCII needs no character set (the default repertoire), and stays checkable
  // by every reader (dcmtk 3.6.7's dsrdump warns that it cannot check ISO_IR 192 values).
  if (/[^\x00-\x7f]/.test(JSON.stringify(dataset))) dataset.SpecificCharacterSet = 'ISO_IR 192';
  const { DicomDict, DicomMetaDictionary } = dcmjsData;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: COMPREHENSIVE_SR_SOP_CLASS,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: derivedUid('lmk implementation', lmkVersion()),
    ImplementationVersionName: `LMK_${lmkVersion()}`.slice(0, 16),
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return { sopInstanceUid, seriesInstanceUid, bytes: new Uint8Array(dict.write()) };
}
