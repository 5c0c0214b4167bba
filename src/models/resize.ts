import { attr, GraphBuilder } from '../onnx';

/**
 * nn.UpsamplingBilinear2d(scale_factor) (bilinear, align_corners=True) as ONNX Resize: exact for any
 * input size, so the exported graph keeps symbolic H and W.
 */
export function resizeBilinearAlignCorners(g: GraphBuilder, x: string, factor: number): string {
  const scales = g.float32([1, 1, factor, factor]);
  return g.op1('Resize', [x, '', scales], {
    mode: attr.string('linear'),
    coordinate_transformation_mode: attr.string('align_corners'),
  });
}

/**
 * `pooled` [N, C, 1, 1] repeated over the height and width of `like` [N, *, H, W]: what a bilinear
 * resize of a 1x1 map gives (every output pixel reads the one input pixel), with symbolic H and W.
 */
export function expandSpatialLike(g: GraphBuilder, pooled: string, like: string): string {
  const hw = g.op1('Shape', [like], { start: attr.int(2) });
  return g.op1('Expand', [pooled, g.concat([g.int64([1, 1]), hw], 0)]);
}

/**
 * The [outSize, inSize] matrix of 1-D linear interpolation with align_corners=True: output i reads
 * input position i (inSize - 1) / (outSize - 1). Training graphs resize with two MatMuls by such
 * matrices, which have gradient rules, where inference uses Resize.
 */
export function alignCornersMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const src = outSize > 1 ? (i * (inSize - 1)) / (outSize - 1) : 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = Math.min(lo + 1, inSize - 1);
    const frac = src - lo;
    m[i * inSize + lo] += 1 - frac;
    m[i * inSize + hi] += frac;
  }
  return m;
}
