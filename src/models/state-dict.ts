/** A float32 tensor in a state dict (row-major, PyTorch layout). */
export interface Tensor {
  dims: number[];
  data: Float32Array;
}

/** Tensors by smp state-dict name (`encoder.features.0.weight`, ...), the project's weight format. */
export type StateDict = Map<string, Tensor>;

export function formatShape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
