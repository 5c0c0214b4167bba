import { cephalometricMeasurements, measuresCephalograms, MEASUREMENT_NAMES } from '../../src/cephalometry';
import { ISBI2015_LANDMARK_NAMES, numberedLandmarkNames } from '../../src/data';
import type { Point } from '../../src/data/types';

/** A point `length` from `from` at `deg` degrees from +x, turning towards +y (image coordinates: y down). */
function ray(from: Point, deg: number, length: number): Point {
  const r = (deg * Math.PI) / 180;
  return [from[0] + length * Math.cos(r), from[1] + length * Math.sin(r)];
}

/**
 * A constructed head (face towards +x) whose measurements are known by construction: SN horizontal,
 * SNA 82, SNB 78, FH horizontal, the palatal plane tilted down anteriorly by 2 degrees, the mandibular
 * plane (Go -> Gn) at 30 degrees to SN, S-Go / N-Me = 0.7, and the incisors 3 px apart (UIT anterior).
 */
function head(o: { sna?: number; snb?: number; palatal?: number; mw?: number } = {}): Point[] {
  const N: Point = [1000, 500];
  const S: Point = [300, 500];
  // Rays from N against N -> S (pointing to -x): an angle theta to N -> S is direction 180 - theta.
  const A = ray(N, 180 - (o.sna ?? 82), 400);
  const B = ray(N, 180 - (o.snb ?? 78), 700);
  const Me: Point = [N[0], N[1] + 1000];
  const Go: Point = [S[0], S[1] + 700];
  const Gn = ray(Go, 30, 600);
  const Po: Point = [200, 700];
  const Or: Point = [900, 700];
  const PNS: Point = [500, 800];
  const ANS = ray(PNS, o.palatal ?? 2, 400);
  const LIT: Point = [1050, 1150];
  const UIT: Point = [1050 + (o.mw ?? 3), 1150];
  const Pog: Point = [B[0] + 10, B[1] + 150];
  const p: Point[] = Array.from({ length: 19 }, () => [0, 0] as Point);
  Object.entries({ 0: S, 1: N, 2: Or, 3: Po, 4: A, 5: B, 6: Pog, 7: Me, 8: Gn, 9: Go, 10: LIT, 11: UIT, 16: PNS, 17: ANS }).forEach(([k, v]) => { p[Number(k)] = v; });
  return p;
}

describe('cephalometric measurements (ISBI 2015 task 2)', () => {
  it('gives the angles, ratio and distance the geometry was built with', () => {
    const m = cephalometricMeasurements(head(), 1);
    expect(m.SNA.value).toBeCloseTo(82, 9);
    expect(m.SNB.value).toBeCloseTo(78, 9);
    expect(m.ANB.value).toBeCloseTo(4, 9);
    expect(m.FMA.value).toBeCloseTo(30, 9);
    expect(m.FHI.value).toBeCloseTo(700 / 1000, 9);
    expect(m.MW).toMatchObject({ unit: 'mm', class: 1 });
    expect(m.MW.value).toBeCloseTo(3, 9);
    expect(Object.keys(m)).toEqual([...MEASUREMENT_NAMES]);
    expect(m.ANB).toMatchObject({ unit: 'deg', class: 1, label: 'Class I (normal), 3.2-5.7' });
  });

  it('ODI and APDI: the palatal plane counts negative tilted up, the AB plane negative with B behind A', () => {
    const down = cephalometricMeasurements(head({ palatal: 2 }), 1);
    const up = cephalometricMeasurements(head({ palatal: -2 }), 1);
    expect(down.ODI.value - up.ODI.value).toBeCloseTo(4, 9);
    expect(down.APDI.value - up.APDI.value).toBeCloseTo(4, 9);
    // ODI's first term: the AB plane (B -> A) against the mandibular plane (Me -> Go), by hand.
    const p = head({ palatal: 0 });
    const ab = [p[4][0] - p[5][0], p[4][1] - p[5][1]];
    const mp = [p[9][0] - p[7][0], p[9][1] - p[7][1]];
    const expected = (Math.acos((ab[0] * mp[0] + ab[1] * mp[1]) / (Math.hypot(ab[0], ab[1]) * Math.hypot(mp[0], mp[1]))) * 180) / Math.PI;
    expect(cephalometricMeasurements(p, 1).ODI.value).toBeCloseTo(expected, 9);
    // SNA 82 > SNB 78 puts B behind A: the AB-to-facial term is negative, so APDI < the facial angle.
    // The facial angle: FH (Or -> Po, here -x) to N -> Pog.
    const facial = (q: Point[]) => (Math.acos(-(q[6][0] - q[1][0]) / Math.hypot(q[6][0] - q[1][0], q[6][1] - q[1][1])) * 180) / Math.PI;
    const facialAngle = facial(p);
    expect(cephalometricMeasurements(p, 1).APDI.value).toBeLessThan(facialAngle);
    const ahead = head({ palatal: 0, sna: 76, snb: 80 });
    expect(cephalometricMeasurements(ahead, 1).APDI.value).toBeGreaterThan(facial(ahead));
  });

  it('classes at and beyond the boundaries (boundaries are normal)', () => {
    const cls = (o: Parameters<typeof head>[0]) => cephalometricMeasurements(head(o), 1);
    expect(cls({ sna: 83.2 }).SNA.class).toBe(1);
    expect(cls({ sna: 83.3 }).SNA.class).toBe(2);
    expect(cls({ sna: 79.3 }).SNA.class).toBe(3);
    expect(cls({ snb: 74.5 }).SNB.class).toBe(2);
    expect(cls({ snb: 78.8 }).SNB.class).toBe(3);
    expect(cls({ sna: 82, snb: 76 }).ANB.class).toBe(2);
    expect(cls({ sna: 80, snb: 78 }).ANB.class).toBe(3);
    expect(cls({ mw: 2 }).MW.class).toBe(1);
    expect(cls({ mw: 4.5 }).MW.class).toBe(1);
    expect(cls({ mw: 4.6 }).MW.class).toBe(4);
    expect(cls({ mw: 0 }).MW.class).toBe(2);
    expect(cls({ mw: -1 }).MW).toMatchObject({ value: -1, class: 3 });
    expect(cls({ mw: 1 }).MW.class).toBe(3);
  });

  it('MW needs the pixel spacing for mm and a class; the angles do not', () => {
    const px = cephalometricMeasurements(head({ mw: 30 }));
    expect(px.MW).toEqual({ value: 30, unit: 'px', class: null, label: null });
    const mm = cephalometricMeasurements(head({ mw: 30 }), 0.1);
    expect(mm.MW.value).toBeCloseTo(3, 9);
    expect(mm.MW.class).toBe(1);
    expect(px.SNA).toEqual(mm.SNA);
    expect(() => cephalometricMeasurements(head().slice(0, 18))).toThrow(/19 ISBI 2015 landmarks, got 18/);
    expect(() => cephalometricMeasurements(head(), 0)).toThrow(/pixel spacing/);
  });

  it('applies to models whose landmarks are the ISBI nineteen', () => {
    expect(measuresCephalograms(ISBI2015_LANDMARK_NAMES.map((n) => n.code))).toBe(true);
    expect(measuresCephalograms(numberedLandmarkNames(19).map((n) => n.code))).toBe(false);
  });
});
