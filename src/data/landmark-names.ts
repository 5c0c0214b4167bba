import { DatasetError, numberedLines, readText } from './parse';
import type { FormatName } from './types';

/**
 * What each landmark of a model is: a name to show people and a short code for column headers and
 * tracking identifiers. Models store them (metadata `lmk.landmarks`, written by `lmk train`); models
 * without them read as `landmark N` / `L N`.
 */
export interface LandmarkName {
  code: string;
  name: string;
}

export const LANDMARK_NAMES_KEY = 'lmk.landmarks';

/**
 * The 19 landmarks of the ISBI 2015 challenge, in its order (Wang et al. 2016, Medical Image Analysis 31,
 * Table 1; the same order as the annotation files' lines).
 */
export const ISBI2015_LANDMARK_NAMES: readonly LandmarkName[] = [
  { code: 'S', name: 'sella' },
  { code: 'N', name: 'nasion' },
  { code: 'Or', name: 'orbitale' },
  { code: 'Po', name: 'porion' },
  { code: 'A', name: 'subspinale (A point)' },
  { code: 'B', name: 'supramentale (B point)' },
  { code: 'Pog', name: 'pogonion' },
  { code: 'Me', name: 'menton' },
  { code: 'Gn', name: 'gnathion' },
  { code: 'Go', name: 'gonion' },
  { code: 'LIT', name: 'lower incisal incision' },
  { code: 'UIT', name: 'upper incisal incision' },
  { code: 'UL', name: 'upper lip' },
  { code: 'LL', name: 'lower lip' },
  { code: 'Sn', name: 'subnasale' },
  { code: "Pog'", name: 'soft tissue pogonion' },
  { code: 'PNS', name: 'posterior nasal spine' },
  { code: 'ANS', name: 'anterior nasal spine' },
  { code: 'Ar', name: 'articulare' },
];

/** `landmark 1`, `landmark 2`, ...: what a landmark is called when nothing names it. */
export function numberedLandmarkNames(count: number): LandmarkName[] {
  return Array.from({ length: count }, (_, i) => ({ code: `L${i + 1}`, name: `landmark ${i + 1}` }));
}

/** The names a data set format gives its landmarks (ISBI 2015's nineteen; numbered for the others, which publish none). */
export function formatLandmarkNames(format: FormatName, count: number): LandmarkName[] {
  if (format === 'isbi2015' && count === ISBI2015_LANDMARK_NAMES.length) return ISBI2015_LANDMARK_NAMES.map((n) => ({ ...n }));
  return numberedLandmarkNames(count);
}

/**
 * A names file for `--landmark-names`: one landmark a line in the model's order, `CODE,name` (or a name
 * alone, which is then its code too); blank lines and lines starting with `#` are skipped.
 */
export async function readLandmarkNamesFile(path: string, count: number): Promise<LandmarkName[]> {
  const lines = numberedLines(await readText(path, 'landmark names file')).filter(({ text }) => text.trim() !== '' && !text.trim().startsWith('#'));
  if (lines.length !== count) throw new DatasetError(`${path}: ${lines.length} landmark names, the data set has ${count} landmarks`);
  const names = lines.map(({ line, text }) => {
    const comma = text.indexOf(',');
    const code = (comma < 0 ? text : text.slice(0, comma)).trim();
    const name = (comma < 0 ? text : text.slice(comma + 1)).trim();
    if (!code || !name) throw new DatasetError(`${path}:${line}: expected 'CODE,name' or a name, got '${text}'`);
    return { code, name };
  });
  const seen = new Map<string, number>();
  names.forEach(({ code }, i) => {
    if (seen.has(code)) throw new DatasetError(`${path}: code '${code}' names landmarks ${seen.get(code)! + 1} and ${i + 1}`);
    seen.set(code, i);
  });
  return names;
}

export function serializeLandmarkNames(names: readonly LandmarkName[]): string {
  return JSON.stringify(names.map(({ code, name }) => ({ code, name })));
}

/** The names a model stores, or numbered names where it stores none; `source` names the model in errors. */
export function parseLandmarkNames(text: string | undefined, count: number, source: string): LandmarkName[] {
  if (text === undefined) return numberedLandmarkNames(count);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${source}: ${LANDMARK_NAMES_KEY} is not JSON`);
  }
  const valid = Array.isArray(parsed) && parsed.every((n) => n && typeof n.code === 'string' && typeof n.name === 'string' && n.code && n.name);
  if (!valid) throw new Error(`${source}: ${LANDMARK_NAMES_KEY} must be a list of {"code", "name"}`);
  const names = parsed as LandmarkName[];
  if (names.length !== count) throw new Error(`${source}: ${LANDMARK_NAMES_KEY} names ${names.length} landmarks, the model has ${count}`);
  return names.map(({ code, name }) => ({ code, name }));
}
