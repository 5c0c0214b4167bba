/** Small dense linear algebra for the shape model (matrices as arrays of rows). */

/** Eigenvalues (descending) and unit eigenvectors (rows) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(input: readonly (readonly number[])[]): { values: number[]; vectors: number[][] } {
  const d = input.length;
  const a = input.map((row) => row.slice());
  const v = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j): number => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vpk = v[p][k];
          const vqk = v[q][k];
          v[p][k] = c * vpk - s * vqk;
          v[q][k] = s * vpk + c * vqk;
        }
      }
    }
  }
  const order = a.map((_, i) => i).sort((i, j) => a[j][j] - a[i][i]);
  return { values: order.map((i) => a[i][i]), vectors: order.map((i) => v[i]) };
}

/** Solves A x = b in place for a symmetric positive definite A (k x k, flat row-major) by Cholesky. */
export function solveSpd(a: Float64Array, b: Float64Array, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    let s = a[j * k + j];
    for (let m = 0; m < j; m++) s -= a[j * k + m] * a[j * k + m];
    const l = Math.sqrt(s);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let t = a[i * k + j];
      for (let m = 0; m < j; m++) t -= a[i * k + m] * a[j * k + m];
      a[i * k + j] = t / l;
    }
  }
  for (let i = 0; i < k; i++) {
    let t = b[i];
    for (let m = 0; m < i; m++) t -= a[i * k + m] * b[m];
    b[i] = t / a[i * k + i];
  }
  for (let i = k - 1; i >= 0; i--) {
    let t = b[i];
    for (let m = i + 1; m < k; m++) t -= a[m * k + i] * b[m];
    b[i] = t / a[i * k + i];
  }
  return b;
}
