import { spawnSync } from 'child_process';
import { str, writeDicom, greyImageElements } from '../io/dicom-writer';

export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';

/** Identity of a test image: its UIDs, and the patient and study attributes an SR must copy. */
export interface TestImageIds {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientName?: string;
  patientId?: string;
  accessionNumber?: string;
}

/** A Part-10 CR image (explicit VR little endian, 8-bit MONOCHROME2) of `pixels` with the given identity. */
export function dicomImage(ids: TestImageIds, width: number, height: number, pixels: Uint8Array): Buffer {
  if (pixels.length !== width * height) throw new Error(`${width}x${height} pixels expected, got ${pixels.length}`);
  return writeDicom({
    transferSyntax: '1.2.840.10008.1.2.1',
    mediaStorage: { sopClassUid: CR_IMAGE_STORAGE, sopInstanceUid: ids.sopInstanceUid },
    elements: greyImageElements({
      width, height, bitsAllocated: 8, bitsStored: 8,
      extra: [
        str(0x00080018, 'UI', ids.sopInstanceUid),
        str(0x00080050, 'SH', ids.accessionNumber ?? ''),
        str(0x00100010, 'PN', ids.patientName ?? 'Test^Patient'),
        str(0x00100020, 'LO', ids.patientId ?? 'LMK-TEST'),
        str(0x0020000d, 'UI', ids.studyInstanceUid),
        str(0x0020000e, 'UI', ids.seriesInstanceUid),
      ],
    }),
    pixels: Buffer.from(pixels),
  });
}

/** dcmtk's dsrdump, where installed. */
export const DSRDUMP: string | undefined = spawnSync('dsrdump', ['--version'], { encoding: 'utf8' }).status === 0 ? 'dsrdump' : undefined;

/** Runs dsrdump on a file: its exit status and everything it printed (errors and warnings start with E: / W:). */
export function dsrdump(file: string): { status: number | null; output: string; complaints: string[] } {
  const r = spawnSync('dsrdump', [file], { encoding: 'utf8' });
  const output = `${r.stdout}${r.stderr}`;
  return { status: r.status, output, complaints: output.split('\n').filter((l) => /^(E|W|F):/.test(l)) };
}
