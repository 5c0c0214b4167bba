#!/usr/bin/env node
// Writes ISBI 2015 images as DICOM the way PACS hold radiographs, in the ISBI layout (RawImage/<folder>/NNN.dcm,
// the annotations linked), so that `lmk eval --format isbi2015 --root OUT/<variant> --model M` scores them
// beside the JPEGs. Variants: 8, 12 and 16 bits; with and without Window Center/Width; MONOCHROME1 and 2; a
// 10-bit image behind a 16-bit Modality LUT (as a dental CR of a peer's corpus). Dev tool (dcmjs, from dist/):
//   node scripts/isbi-as-dicom.js --root ISBI2015_DIR --out DIR [--folder Test1Data] [--variants a,b]
const { mkdirSync, readdirSync, symlinkSync, existsSync, writeFileSync } = require('fs');
const { join, resolve } = require('path');
const sharp = require('sharp');
const { data: dcmjsData } = require('dcmjs');
const yargs = require('yargs/yargs');

/** Each variant: bits stored, photometric, how a grey level v (0-255) is stored, and extra attributes. */
const VARIANTS = {
  'mono2-8bit': { bits: 8, photometric: 'MONOCHROME2', store: (v) => v },
  'mono2-8bit-window': { bits: 8, photometric: 'MONOCHROME2', store: (v) => v, extra: { WindowCenter: '128', WindowWidth: '256' } },
  'mono2-12bit': { bits: 12, photometric: 'MONOCHROME2', store: (v) => v * 16 + 8 },
  'mono2-12bit-window': { bits: 12, photometric: 'MONOCHROME2', store: (v) => v * 16 + 8, extra: { WindowCenter: '2048', WindowWidth: '4096' } },
  'mono1-16bit': { bits: 16, photometric: 'MONOCHROME1', store: (v) => 65535 - v * 257 },
  'mono1-16bit-window': { bits: 16, photometric: 'MONOCHROME1', store: (v) => 65535 - v * 257, extra: { WindowCenter: '32768', WindowWidth: '65536' } },
  // 10 bits stored (v * 4), a Modality LUT to 16-bit values in 12000-19161: the output range is the LUT's entries'.
  'mono2-10bit-modality-lut': { bits: 10, photometric: 'MONOCHROME2', store: (v) => v * 4, modalityLut: { first: 0, entries: Array.from({ length: 1024 }, (_, i) => 12000 + 7 * i), bits: 16 } },
};

const argv = yargs(process.argv.slice(2))
  .option('root', { type: 'string', demandOption: true })
  .option('out', { type: 'string', demandOption: true })
  .option('folder', { type: 'string', default: 'Test1Data' })
  .option('variants', { type: 'string', default: Object.keys(VARIANTS).join(',') })
  .strict().parseSync();

function uid(...parts) {
  // 2.25 + a decimal of the parts' hash: valid, stable UIDs for test files.
  const hash = require('crypto').createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 30);
  return `2.25.${BigInt(`0x${hash}`).toString(10)}`;
}

async function writeVariant(name, v, image, id, file) {
  const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  const words = new Uint16Array(info.width * info.height);
  for (let i = 0; i < words.length; i++) words[i] = v.store(data[i]);
  const sopInstanceUid = uid('lmk isbi dicom', name, id);
  const dataset = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1', SOPInstanceUID: sopInstanceUid, Modality: 'CR',
    PatientName: `ISBI^${id}`, PatientID: `ISBI-${id}`, StudyInstanceUID: uid('study', id), SeriesInstanceUID: uid('series', name, id),
    SamplesPerPixel: 1, PhotometricInterpretation: v.photometric, Rows: info.height, Columns: info.width,
    BitsAllocated: 16, BitsStored: v.bits, HighBit: v.bits - 1, PixelRepresentation: 0, PixelSpacing: ['0.1', '0.1'],
    ...(v.extra ?? {}),
    ...(v.modalityLut ? { ModalityLUTSequence: [{ LUTDescriptor: [v.modalityLut.entries.length, v.modalityLut.first, v.modalityLut.bits], ModalityLUTType: 'US', LUTData: Uint16Array.from(v.modalityLut.entries).buffer, _vrMap: { LUTDescriptor: 'US', LUTData: 'OW' } }] } : {}),
    PixelData: words.buffer,
    _vrMap: { PixelData: 'OW' },
  };
  const { DicomDict, DicomMetaDictionary } = dcmjsData;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer, MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: sopInstanceUid, TransferSyntaxUID: '1.2.840.10008.1.2.1', ImplementationClassUID: uid('lmk isbi-as-dicom'),
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  writeFileSync(file, Buffer.from(dict.write()));
}

(async () => {
  const root = resolve(argv.root);
  const source = join(root, 'RawImage', argv.folder);
  const images = readdirSync(source).filter((f) => /^\d+\.(jpg|jpeg|png|bmp)$/i.test(f)).sort();
  for (const name of argv.variants.split(',')) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant '${name}' (one of ${Object.keys(VARIANTS).join(', ')})`);
    const dir = join(argv.out, name);
    mkdirSync(join(dir, 'RawImage', argv.folder), { recursive: true });
    if (!existsSync(join(dir, 'AnnotationsByMD'))) symlinkSync(join(root, 'AnnotationsByMD'), join(dir, 'AnnotationsByMD'));
    for (const image of images) {
      const id = image.replace(/\.\w+$/, '');
      await writeVariant(name, v, join(source, image), id, join(dir, 'RawImage', argv.folder, `${id}.dcm`));
    }
    console.log(`${dir}: ${images.length} images`);
  }
})().catch((err) => {
  console.error(`isbi-as-dicom: ${err.message}`);
  process.exit(1);
});
