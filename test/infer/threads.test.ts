import { defaultSessionThreads } from '../../src/infer';
import { GraphBuilder, serializeModel } from '../../src/onnx';

/** A file with a model's metadata only: what the thread default reads. */
function described(metadata: Record<string, string>): Uint8Array {
  const g = new GraphBuilder('described');
  g.output(g.identity(g.input('image', 'float32', [1])), 'heatmaps', 'float32', [1]);
  return serializeModel(g.build(metadata));
}

describe('session threads by default', () => {
  const head = { 'lmk.arch': 'unet', 'lmk.encoder': 'vgg19', 'lmk.classes': '19', 'lmk.in_channels': '3', 'lmk.width_multiplier': '0.25', 'lmk.grid_height': '256', 'lmk.grid_width': '224' };
  it('a light model (the CPU recipe head, 1.7 GMAC) leaves the workers their cores', () => {
    expect(defaultSessionThreads(described(head), undefined, 1, 2)).toBe(1);
    expect(defaultSessionThreads(described(head), undefined, 2, 16)).toBe(14);
    expect(defaultSessionThreads(described(head), undefined, 4, 2)).toBe(1);
  });
  it("the paper's network (U-Net++/VGG19, 512x416) and models without workers or metadata keep ONNX Runtime's default", () => {
    expect(defaultSessionThreads(described({ ...head, 'lmk.arch': 'unetplusplus', 'lmk.width_multiplier': '1' }), { height: 512, width: 416 }, 1, 2)).toBeUndefined();
    expect(defaultSessionThreads(described(head), undefined, 0, 2)).toBeUndefined();
    expect(defaultSessionThreads(described({ 'lmk.classes': '2' }), { height: 64, width: 48 }, 1, 2)).toBeUndefined();
    expect(defaultSessionThreads(Buffer.from('not a model'), undefined, 1, 2)).toBeUndefined();
  });
});
