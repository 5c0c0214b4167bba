import { Argv, CommandModule } from 'yargs';
import { inspectImage } from '../../io';

interface InspectArgs {
  file: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <file>',
  describe: 'Describe an image file (DICOM, MetaImage, BMP, JPEG, PNG, TIFF, WebP): size, bits, photometric, spacing, stored-value stats',
  builder: (y: Argv) => y
    .positional('file', { type: 'string', demandOption: true, describe: 'the image file (format detected by content)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .example('$0 inspect chest.dcm --json', 'stats are over stored values, before rescale, LUTs or MONOCHROME1 inversion') as unknown as Argv<InspectArgs>,
  handler: async (args) => {
    const r = await inspectImage(args.file);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const spacing = r.pixelSpacingMm ? `${r.pixelSpacingMm[0]} x ${r.pixelSpacingMm[1]} mm (row x column)` : 'unknown';
    process.stdout.write([
      `${args.file}: ${r.width}x${r.height}, ${r.bitsStored} bits stored, ${r.photometric}`,
      `modality: ${r.modality ?? '-'}   transfer syntax: ${r.transferSyntax ?? '-'}   pixel spacing: ${spacing}`,
      `shown by: ${r.window}`,
      `stored values: min ${r.stats.min}, max ${r.stats.max}, mean ${r.stats.mean.toFixed(3)}`,
    ].join('\n') + '\n');
  },
};
