// The host's onnxruntime-node, loaded once per jest worker by test/environment.js.
module.exports = globalThis.__lmkHostOnnxRuntime;
