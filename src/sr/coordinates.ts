import type { Point } from '../data';

/**
 * The one mapping between lmk's pixel coordinates and DICOM's spatial coordinates (SCOORD, PS3.3 C.18.6.1.1).
 * lmk puts pixel centres at integers: (0, 0) is the centre of the first pixel. DICOM puts (0, 0) at the
 * top-left corner of the first pixel, so that pixel's centre is (0.5, 0.5). Both are (column, row).
 */
export const PIXEL_CENTRE_IN_SCOORD = 0.5;

/** An lmk point (x, y) as SCOORD (column, row). */
export function toScoordPoint([x, y]: Point): Point {
  return [x + PIXEL_CENTRE_IN_SCOORD, y + PIXEL_CENTRE_IN_SCOORD];
}

/** A SCOORD point (column, row) as an lmk point (x, y). */
export function fromScoordPoint([column, row]: Point): Point {
  return [column - PIXEL_CENTRE_IN_SCOORD, row - PIXEL_CENTRE_IN_SCOORD];
}
