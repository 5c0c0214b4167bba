/**
 * Grey levels as a viewer shows them: the VOI transform of DICOM (PS3.3 C.11.2: Window Center/Width with
 * the VOI LUT Function, or a VOI LUT), applied after the modality transform, then MONOCHROME1's inversion.
 * Images without one (JPEG, PNG, ...) are shown over their value range. The model sees this display image
 * scaled to [0, 1], in training and inference alike (src/data/grid.ts).
 */

/** How stored (modality) values map to display grey. */
export type VoiWindow =
  /** Linear over [lo, hi] (formats without a VOI: 8-bit files over [0, 255], 16-bit over [0, 65535]). */
  | { kind: 'range'; lo: number; hi: number }
  /**
   * A window (PS3.3 C.11.2.1.2) by its VOI LUT Function; `source` says where it came from: the file's
   * Window Center/Width, or the values themselves (min-max: lowest to black, highest to white, as dcmtk's +Wm).
   */
  | { kind: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID'; center: number; width: number; source: 'file' | 'min-max' }
  /** A VOI LUT Sequence item: value v maps to entries[v - first] (clamped), shown over [outMin, outMax]. */
  | { kind: 'lut'; first: number; entries: Float32Array; outMin: number; outMax: number };

export interface Display {
  window: VoiWindow;
  /** MONOCHROME1: low values bright; inverted after the window, so that bright means dense as in MONOCHROME2. */
  invert: boolean;
}

/** One line for `lmk inspect`: which window is used. */
export function describeDisplay(d: Display | undefined, valueRange: [number, number]): string {
  const w = d?.window ?? { kind: 'range', lo: valueRange[0], hi: valueRange[1] };
  const inverted = d?.invert ? ', inverted (MONOCHROME1)' : '';
  switch (w.kind) {
    case 'range': return `value range ${w.lo}-${w.hi}${inverted}`;
    case 'lut': return `VOI LUT from the file (${w.entries.length} entries from ${w.first}, output ${w.outMin}-${w.outMax})${inverted}`;
    default: return `${w.source === 'file' ? 'window from the file' : 'min-max window of the values'}: center ${round(w.center)}, width ${round(w.width)}, ${w.kind}${inverted}`;
  }
}

const round = (v: number) => Number(v.toFixed(4));

/** The display grey in [0, 1] of one modality value. */
export function displayFunction(valueRange: [number, number], display?: Display): (v: number) => number {
  const w = display?.window ?? { kind: 'range' as const, lo: valueRange[0], hi: valueRange[1] };
  const clamp = (y: number) => (y <= 0 ? 0 : y >= 1 ? 1 : y);
  let f: (v: number) => number;
  switch (w.kind) {
    case 'range': {
      const span = w.hi > w.lo ? w.hi - w.lo : 1;
      f = (v) => clamp((v - w.lo) / span);
      break;
    }
    case 'LINEAR': {
      // y = ((x - (c - 0.5)) / (w - 1) + 0.5), 0 at or below c - 0.5 - (w - 1) / 2, 1 above c - 0.5 + (w - 1) / 2.
      const { center: c, width } = w;
      if (width <= 1) {
        f = (v) => (v <= c - 0.5 ? 0 : 1);
        break;
      }
      const lo = c - 0.5 - (width - 1) / 2;
      const hi = c - 0.5 + (width - 1) / 2;
      f = (v) => (v <= lo ? 0 : v > hi ? 1 : (v - (c - 0.5)) / (width - 1) + 0.5);
      break;
    }
    case 'LINEAR_EXACT': {
      const { center: c, width } = w;
      f = (v) => (v <= c - width / 2 ? 0 : v > c + width / 2 ? 1 : (v - c) / width + 0.5);
      break;
    }
    case 'SIGMOID': {
      const { center: c, width } = w;
      f = (v) => 1 / (1 + Math.exp((-4 * (v - c)) / width));
      break;
    }
    case 'lut': {
      const { first, entries, outMin, outMax } = w;
      const span = outMax > outMin ? outMax - outMin : 1;
      const last = entries.length - 1;
      f = (v) => clamp((entries[Math.min(last, Math.max(0, Math.round(v) - first))] - outMin) / span);
      break;
    }
  }
  return display?.invert ? (v) => 1 - f(v) : f;
}

/** Display grey in [0, 1] of every value. */
export function toDisplayUnit(values: Float32Array, valueRange: [number, number], display?: Display): Float32Array {
  const f = displayFunction(valueRange, display);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f(values[i]);
  return out;
}
