import { attr, GraphBuilder } from '../onnx';

/**
 * F.interpolate(scale_factor=2, mode='nearest') as ONNX Resize: output pixel i reads input
 * floor(i / 2), which is Resize's 'asymmetric' coordinate transform with 'floor' rounding.
 */
export function resizeNearest2x(g: GraphBuilder, x: string): string {
  const scales = g.float32([1, 1, 2, 2]);
  return g.op1('Resize', [x, '', scales], {
    mode: attr.string('nearest'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    nearest_mode: attr.string('floor'),
  });
}
