import { promises as fsp } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import { Argv, CommandModule } from 'yargs';
import { augment, Dataset, DEFAULT_AUGMENT, FormatName, FORMATS, loadDataset, Random, readForGrid, reducedToUnitGrid, toGridPoints } from '../../data';
import { writeFileAtomic } from '../../util/fs';
import { UsageError } from '../errors';

interface DatasetArgs {
  format: string;
  root: string;
}

const withDataset = (y: Argv): Argv<DatasetArgs> => y
  .option('format', { type: 'string', choices: FORMATS, demandOption: true, describe: 'data set layout' })
  .option('root', { type: 'string', demandOption: true, describe: 'data set folder' }) as unknown as Argv<DatasetArgs>;

function load(args: DatasetArgs, split: 'all' | 'train' = 'all'): Promise<Dataset> {
  return loadDataset({ format: args.format as FormatName, root: args.root, split });
}

const infoCommand: CommandModule<object, DatasetArgs & { json: boolean }> = {
  command: 'info',
  describe: 'Count the items of a data set (annotations with an image), its published splits, and what is missing',
  builder: (y: Argv) => withDataset(y).option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<DatasetArgs & { json: boolean }>,
  handler: async (args) => {
    const d = await load(args);
    const splits = { train: d.items.filter((i) => i.split === 'train').length, test: d.items.filter((i) => i.split === 'test').length };
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ format: d.format, images: d.items.length, landmarks: d.landmarkCount, missing: d.missing, splits })}\n`);
      return;
    }
    const lines = [
      `${d.format} at ${d.root}: ${d.items.length} images with ${d.landmarkCount} landmarks (train ${splits.train}, test ${splits.test})`,
      `grid ${d.grid.height}x${d.grid.width} (h x w), errors in ${d.unit}`,
      `${d.missing.length} missing or unusable`,
      ...d.missing.slice(0, 10).map((m) => `  ${m.id}: ${m.reason}`),
    ];
    if (d.missing.length > 10) lines.push(`  ... and ${d.missing.length - 10} more (--json lists all)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

const showCommand: CommandModule<object, DatasetArgs & { id: string; json: boolean }> = {
  command: 'show',
  describe: 'Print one item: image size and landmarks in original pixels, mm per pixel',
  builder: (y: Argv) => withDataset(y)
    .option('id', { type: 'string', demandOption: true, describe: "item id ('001', '3147', 'CHNCXR_0001_0', or the csv image path)" })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<DatasetArgs & { id: string; json: boolean }>,
  handler: async (args) => {
    const d = await load(args);
    const id = String(args.id);
    const item = d.items.find((i) => i.id === id);
    if (!item) {
      const missing = d.missing.find((m) => m.id === id);
      throw new Error(missing ? `item ${id} is unusable: ${missing.reason}` : `no item '${id}' in ${d.root} (${d.format})`);
    }
    const shown = { id: item.id, width: item.width, height: item.height, landmarks: item.landmarks, spacingMm: item.mmPerPixel ?? null };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(shown)}\n`);
      return;
    }
    process.stdout.write([
      `${item.id}: ${item.imagePath}, ${item.width}x${item.height}, ${item.mmPerPixel !== undefined ? `${item.mmPerPixel} mm/px` : 'spacing unknown'}`,
      ...item.landmarks.map(([x, y], i) => `  ${String(i + 1).padStart(2)}: (${x}, ${y})`),
    ].join('\n') + '\n');
  },
};

interface PreviewArgs extends DatasetArgs {
  out: string;
  count: number;
  seed: number;
}

/** Grey [0, 1] on the grid -> PNG with the landmarks drawn as numbered circles. */
async function previewPng(pixels: Float32Array, width: number, height: number, landmarks: [number, number][]): Promise<Buffer> {
  const grey = Buffer.alloc(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(pixels[i] * 255);
  const r = Math.max(2, Math.round(Math.min(width, height) / 128));
  // SVG user units put pixel centres at half-integers: shift by 0.5 from lmk's integer-centre convention.
  const marks = landmarks.map(([x, y], i) =>
    `<circle cx="${x + 0.5}" cy="${y + 0.5}" r="${r}" fill="none" stroke="#ff3030" stroke-width="1.5"/>` +
    `<text x="${x + 0.5 + r + 1}" y="${y + 0.5 - r}" font-size="${3 * r}" fill="#ffd000" font-family="sans-serif">${i + 1}</text>`).join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${marks}</svg>`);
  return sharp(grey, { raw: { width, height, channels: 1 } }).toColourspace('srgb').composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer();
}

const augmentPreviewCommand: CommandModule<object, PreviewArgs> = {
  command: 'augment-preview',
  describe: 'Write a few augmented training samples on the model grid, landmarks drawn, to look at',
  builder: (y: Argv) => withDataset(y)
    .option('out', { type: 'string', demandOption: true, describe: 'folder for the PNGs (created if absent)' })
    .option('count', { type: 'number', default: 4, describe: 'how many samples' })
    .option('seed', { type: 'number', default: 0, describe: 'augmentation seed' }) as unknown as Argv<PreviewArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.count) || args.count < 1) throw new UsageError(`--count must be a positive integer, got ${args.count}`);
    if (!Number.isFinite(args.seed)) throw new UsageError(`--seed must be a number, got ${args.seed}`);
    const d = await load(args, 'train');
    if (d.items.length === 0) throw new Error(`${d.root}: no training items to preview (${d.missing.length} missing)`);
    await fsp.mkdir(args.out, { recursive: true });
    const random = new Random(args.seed);
    for (let k = 0; k < args.count; k++) {
      const item = d.items[k % d.items.length];
      const unit = reducedToUnitGrid(await readForGrid(item.imagePath, d.grid), d.grid);
      const sample = augment(unit, d.grid, toGridPoints(item.landmarks, item, d.grid), random, DEFAULT_AUGMENT);
      const path = join(args.out, `${item.id.replace(/[^\w.-]+/g, '_')}-aug${k + 1}.png`);
      await writeFileAtomic(path, await previewPng(sample.pixels, d.grid.width, d.grid.height, sample.landmarks));
      process.stdout.write(`${path}\n`);
    }
  },
};

export const datasetCommand: CommandModule<object, object> = {
  command: 'dataset <command>',
  describe: 'Read data sets: info, show one item, preview augmentation',
  builder: (y: Argv) => y.command(infoCommand).command(showCommand).command(augmentPreviewCommand).demandCommand(1, 'name a dataset command') as Argv,
  handler: () => undefined,
};
