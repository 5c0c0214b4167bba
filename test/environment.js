// Jest runs each test file in its own realm inside one worker process. Two consequences are handled here:
// - native addons (onnxruntime-node, ours) create typed arrays in the host realm, which then fail
//   `instanceof Float32Array` checks in the test realm: the test realm shares the host's constructors;
// - onnxruntime-node 1.29 aborts the process when its binding is initialised a second time in one process
//   (microsoft/onnxruntime#32464): it is loaded once, here in the host, and test files get that instance
//   through test/onnxruntime-node.js (see moduleNameMapper in jest.config.js).
// Each test file also gets its own temporary folder as TMPDIR (os.tmpdir() in the file, its worker threads and
// child processes), removed when the file is done, so that no test leaves its scratch files behind.
const { mkdtempSync, rmSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');
const { TestEnvironment } = require('jest-environment-node');
const ort = require('onnxruntime-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView',
];

class SharedHostEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    this.global.__lmkHostOnnxRuntime = ort;
  }

  async setup() {
    await super.setup();
    this.previousTmpdir = process.env.TMPDIR;
    this.tmp = mkdtempSync(join(tmpdir(), 'lmk-test-'));
    process.env.TMPDIR = this.tmp;
    this.global.process.env.TMPDIR = this.tmp;
  }

  async teardown() {
    if (this.previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.previousTmpdir;
    rmSync(this.tmp, { recursive: true, force: true });
    await super.teardown();
  }
}

module.exports = SharedHostEnvironment;
