import { isAbsolute, join } from 'path';
import { existsSync } from 'fs';
import { DatasetError, errorMessage, numberedLines, parseNumber, readText, toPoints } from '../parse';
import { MissingItem, SplitName } from '../types';
import { FormatIndex, IndexEntry } from './entry';

/**
 * Generic layout for users' own data: landmarks.csv with header `image,x1,y1,...,xN,yN` (image paths relative
 * to the root, landmarks in original pixels), optional `spacing_mm` (mm per pixel) and `split` (train|test)
 * columns. Without a split column, or where its field is empty (as `lmk review export` writes it), an item is in
 * the training split. Rows keep their file order.
 */

/** Splits one CSV line; fields may be double-quoted (with "" for a quote). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { fields.push(field); field = ''; }
    else field += c;
  }
  fields.push(field);
  return fields;
}

export async function indexCsv(root: string): Promise<FormatIndex> {
  const path = join(root, 'landmarks.csv');
  const lines = numberedLines(await readText(path, 'landmark table landmarks.csv'));
  if (lines.length === 0) throw new DatasetError(`${path}: empty file, a header 'image,x1,y1,...' is expected`);
  const header = splitCsvLine(lines[0].text).map((h) => h.trim());
  if (header[0] !== 'image') throw new DatasetError(`${path}:1: the first column must be 'image', got '${header[0]}'`);
  const spacingColumn = header.indexOf('spacing_mm');
  const splitColumn = header.indexOf('split');
  const coordinateColumns = header.map((_, i) => i).filter((i) => i > 0 && i !== spacingColumn && i !== splitColumn);
  const landmarkCount = coordinateColumns.length / 2;
  coordinateColumns.forEach((column, k) => {
    const expected = `${k % 2 === 0 ? 'x' : 'y'}${Math.floor(k / 2) + 1}`;
    if (header[column] !== expected) throw new DatasetError(`${path}:1: column ${column + 1} is '${header[column]}', '${expected}' expected (header image,x1,y1,...,xN,yN[,spacing_mm][,split])`);
  });
  if (landmarkCount < 1 || !Number.isInteger(landmarkCount)) throw new DatasetError(`${path}:1: no landmark columns x1,y1,... in the header`);

  const problems: MissingItem[] = [];
  const entries: IndexEntry[] = [];
  const seen = new Set<string>();
  for (const { line, text } of lines.slice(1)) {
    const fields = splitCsvLine(text);
    const image = fields[0]?.trim() ?? '';
    const where = `${path}:${line}`;
    try {
      if (image === '') throw new DatasetError(`${where}: empty image path`);
      if (fields.length !== header.length) throw new DatasetError(`${where}: ${fields.length} fields, the header has ${header.length}`);
      if (seen.has(image)) throw new DatasetError(`${where}: image ${image} appears twice`);
      seen.add(image);
      const landmarks = toPoints(coordinateColumns.map((c) => parseNumber(fields[c], `${where} column ${header[c]}`)));
      const imagePath = isAbsolute(image) ? image : join(root, image);
      const entry: IndexEntry = { id: image, landmarks, imageLookedFor: imagePath, imagePath: existsSync(imagePath) ? imagePath : undefined, split: 'train' };
      if (spacingColumn >= 0 && fields[spacingColumn].trim() !== '') {
        const spacing = parseNumber(fields[spacingColumn], `${where} column spacing_mm`);
        if (spacing <= 0) throw new DatasetError(`${where}: spacing_mm must be positive, got ${spacing}`);
        entry.mmPerPixel = spacing;
      }
      if (splitColumn >= 0) {
        const split = fields[splitColumn].trim() || 'train';
        if (split !== 'train' && split !== 'test') throw new DatasetError(`${where}: split must be 'train' or 'test', got '${split}'`);
        entry.split = split as SplitName;
      }
      entries.push(entry);
    } catch (err) {
      problems.push({ id: image || `line ${line}`, reason: errorMessage(err) });
    }
  }
  return { landmarkCount, entries, problems };
}
