import { attr, GraphBuilder, Initializer, Node } from '../onnx';
import { constantInts, inferShapes, StaticShape } from '../onnx/shapes';
import { GradContext, GRADIENT_RULES } from './gradients';

const DIFFERENTIABLE = new Set(['float32', 'float64', 'float16']);

/**
 * Reverse-mode autodiff on the graph being built in `g`: appends the backward nodes that compute
 * d`loss`/d`w` for every `w` in `wrt` and returns their value names, in `wrt` order.
 *
 * One reverse walk over the nodes that lie between `wrt` and `loss`; each node's rule (from
 * GRADIENT_RULES) turns its output gradients into input gradients, and gradients that reach one
 * value along several paths are summed. `loss` must be a float scalar (any shape with one element).
 */
export function addGradients(g: GraphBuilder, loss: string, wrt: string[]): string[] {
  const graph = g.graph;
  const shapes = inferShapes(graph);
  const inits = new Map<string, Initializer>(graph.initializers.map((i) => [i.name, i]));
  const lossShape = shapes.get(loss);
  if (!lossShape) throw new Error(`autodiff: loss '${loss}' is not a value of the graph`);
  if (lossShape.dims.reduce((a, b) => a * b, 1) !== 1) throw new Error(`autodiff: loss '${loss}' must have one element, has shape [${lossShape.dims}]`);
  for (const w of wrt) if (!shapes.has(w)) throw new Error(`autodiff: '${w}' is not a value of the graph`);

  const forward = graph.nodes.slice();
  // Values that depend on some `wrt` (forward sweep) ...
  const reached = new Set<string>(wrt);
  for (const node of forward) {
    if (node.inputs.some((i) => reached.has(i))) for (const o of node.outputs) if (DIFFERENTIABLE.has(shapes.get(o)?.dataType ?? '')) reached.add(o);
  }
  // ... and that `loss` depends on (backward sweep).
  const needed = new Set<string>([loss]);
  const onPath: Node[] = [];
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    if (!node.outputs.some((o) => needed.has(o) && reached.has(o))) continue;
    onPath.push(node);
    for (const i of node.inputs) if (reached.has(i)) needed.add(i);
  }

  const ctx: GradContext = {
    g,
    shape(value: string): StaticShape {
      const s = shapes.get(value);
      if (!s) throw new Error(`autodiff: no static shape for '${value}'`);
      return s;
    },
    ints: (node, i) => constantInts(node, i, inits),
  };

  const pending = new Map<string, string[]>();
  const add = (value: string, grad: string): void => {
    const list = pending.get(value);
    if (list) list.push(grad);
    else pending.set(value, [grad]);
  };
  /** The total gradient of `value`: its contributions summed once, when first asked for. */
  const total = (value: string): string | undefined => {
    const list = pending.get(value);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) pending.set(value, [g.op1('Sum', list)]);
    return pending.get(value)![0];
  };

  const one = lossShape.dataType === 'float64' ? Float64Array.of(1) : Float32Array.of(1);
  add(loss, g.constant({ dataType: lossShape.dataType, dims: lossShape.dims, data: one }, 'seed'));
  for (const node of onPath) {
    const dOut = node.outputs.map((o) => (needed.has(o) ? total(o) : undefined));
    if (dOut.every((d) => d === undefined)) continue;
    const rule = GRADIENT_RULES[node.opType];
    if (!rule) throw new Error(`autodiff: no gradient rule for ${node.opType} (node ${node.name}) between the parameters and the loss`);
    const needs = node.inputs.map((i) => i !== '' && needed.has(i));
    const dIn = rule(ctx, node, dOut, needs);
    node.inputs.forEach((input, k) => {
      const d = dIn[k];
      if (d && needs[k]) add(input, d);
    });
  }

  return wrt.map((w) => total(w) ?? zerosOf(g, ctx.shape(w).dims));
}

/** Zeros for a value that does not influence the loss (its gradient is exactly zero). */
function zerosOf(g: GraphBuilder, dims: number[]): string {
  return g.op1('ConstantOfShape', [g.int64(dims)], { value: attr.tensor({ dataType: 'float32', dims: [1], data: new Float32Array(1) }) });
}
