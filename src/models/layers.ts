import { GraphBuilder } from '../onnx';

/** How a parameter is initialised when no weights are given (smp and torchvision conventions). */
export type ParamInit =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** torch.nn.init.kaiming_uniform_(w, mode='fan_in', nonlinearity='relu'): U(-b, b), b = sqrt(6 / fanIn). */
  | { kind: 'kaiming_uniform'; fanIn: number }
  /** torch.nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu'): N(0, 2 / fanOut) (torchvision VGG). */
  | { kind: 'kaiming_normal_fan_out'; fanOut: number }
  /** torch.nn.init.xavier_uniform_: U(-b, b), b = sqrt(6 / (fanIn + fanOut)). */
  | { kind: 'xavier_uniform'; fanIn: number; fanOut: number }
  /** PyTorch's default Conv2d bias: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  | { kind: 'uniform_fan_in'; fanIn: number };

export interface BatchNormOptions {
  /** Default 1e-5 (PyTorch). */
  epsilon?: number;
  /** PyTorch convention (weight of the new batch statistic). Default 0.1. */
  momentum?: number;
}

/**
 * What a network needs from whoever turns it into a graph. Models describe their structure
 * through this interface and never know whether they are exported for inference or compiled
 * into a training step: the inference implementation reads parameters from a state dict into
 * initializers and uses ONNX BatchNormalization/Resize; the training implementation makes
 * parameters graph inputs, writes BatchNorm in training mode from primitives, and keeps every
 * op differentiable.
 */
export interface Layers {
  readonly g: GraphBuilder;
  /** A parameter by its smp state-dict name (e.g. 'encoder.features.0.weight'), with its shape and default init. */
  param(name: string, shape: number[], init: ParamInit): string;
  /**
   * BatchNorm2d over NCHW `x` with parameters `${prefix}.weight`, `.bias` and buffers
   * `.running_mean`, `.running_var` (smp names).
   */
  batchNorm(x: string, prefix: string, channels: number, options?: BatchNormOptions): string;
  /** Nearest-neighbour upsampling by 2 in H and W (F.interpolate(scale_factor=2, mode='nearest')). */
  upsampleNearest2x(x: string): string;
  /** Bilinear upsampling by an integer factor with align_corners=True (smp's DeepLabV3 head). */
  upsampleBilinear(x: string, factor: number): string;
  /** `pooled` [N, C, 1, 1] repeated over the H and W of `like` (smp's ASPP image pooling: bilinear resize of a 1x1 map). */
  broadcastSpatial(pooled: string, like: string): string;
  /**
   * nn.Dropout(p): identity for inference; in training, zeroes each element with probability p and
   * scales the rest by 1 / (1 - p). `name` (the module's smp name) seeds its random stream.
   */
  dropout(x: string, p: number, name: string): string;
  /**
   * Stochastic depth (efficientnet-pytorch's drop_connect): identity for inference; in training,
   * zeroes whole samples with probability p and scales the rest by 1 / (1 - p).
   */
  dropSamples(x: string, p: number, name: string): string;
}
