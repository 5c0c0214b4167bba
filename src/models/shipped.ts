import { existsSync, promises as fsp, readdirSync, statSync } from 'fs';
import { join, resolve } from 'path';
import { readModelMetadata } from '../onnx';
import { parseRefinements, REFINE_KEY } from '../refine/stages';

/**
 * Models that ship with lmk: `models/<name>/model.onnx` beside a model card (`README.md`) in the package.
 * Wherever a model file is asked for, a shipped model's name works too; a path that exists always wins.
 */

/** The package's models/ folder (from dist/models or src/models alike). */
export const SHIPPED_MODELS_DIR = resolve(__dirname, '..', '..', 'models');

/** Metadata keys a shipped model carries for `lmk models`. */
export const MODEL_NAME_KEY = 'lmk.model_name';
export const MODEL_ACCURACY_KEY = 'lmk.accuracy';

export interface ShippedModel {
  name: string;
  /** The file a --model value of this name resolves to (the first stage's, where it is a pair). */
  file: string;
  /** Every file of the model: `file`, and its refinement stages' where they are files of their own. */
  files: string[];
  /** 1, and one more per refinement stage (src/refine). */
  stages: number;
  card: string;
  /** Of all its files. */
  bytes: number;
  classes: number;
  grid: { height: number; width: number };
  /** Landmark codes in the model's order (`lmk.landmarks`), or undefined where it stores none. */
  landmarkCodes?: string[];
  /** One line: how it scores and on what (`lmk.accuracy`). */
  accuracy: string;
}

/** Names of the shipped models, sorted. */
export function shippedModelNames(dir = SHIPPED_MODELS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'model.onnx')))
    .map((e) => e.name)
    .sort();
}

/**
 * The file a `--model` value names: the path itself where it is a file, else the shipped model of that
 * name; anything else is an error that names the value (after `label`, e.g. '--model ') and lists the
 * shipped models.
 */
export function resolveModelFile(value: string, label = '', dir = SHIPPED_MODELS_DIR): string {
  if (existsSync(value) && statSync(value).isFile()) return value;
  if (/^[\w.-]+$/.test(value) && !value.startsWith('.')) {
    const shipped = join(dir, value, 'model.onnx');
    if (existsSync(shipped)) return shipped;
  }
  const names = shippedModelNames(dir);
  throw new Error(`${label}${value}: no such file, nor a shipped model (shipped: ${names.length ? names.join(', ') : 'none'})`);
}

export async function listShippedModels(dir = SHIPPED_MODELS_DIR): Promise<ShippedModel[]> {
  const models: ShippedModel[] = [];
  for (const name of shippedModelNames(dir)) {
    const file = join(dir, name, 'model.onnx');
    const bytes = await fsp.readFile(file);
    const m = readModelMetadata(bytes);
    const landmarks = m['lmk.landmarks'] ? (JSON.parse(m['lmk.landmarks']) as { code: string }[]).map((l) => l.code) : undefined;
    const chain = m[REFINE_KEY] === undefined ? [] : parseRefinements(m[REFINE_KEY], file);
    const files = [file, ...chain.flatMap((r) => (r.file === undefined ? [] : [join(dir, name, r.file)]))];
    const sizes = await Promise.all(files.map(async (f) => (await fsp.stat(f)).size));
    models.push({
      name, file, files, stages: 1 + chain.length, card: join(dir, name, 'README.md'), bytes: sizes.reduce((a, b) => a + b, 0), classes: Number(m['lmk.classes']),
      grid: { height: Number(m['lmk.grid_height']), width: Number(m['lmk.grid_width']) },
      landmarkCodes: landmarks, accuracy: m[MODEL_ACCURACY_KEY] ?? '(no accuracy stated)',
    });
  }
  return models;
}
