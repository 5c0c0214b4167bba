/** lmk's library API. The CLI (src/cli) is a thin layer over these exports. */
export * as onnx from './onnx';
