#!/usr/bin/env node
// Builds the native heatmap addon (native/, sources listed once in native/sources.json).
//   node scripts/build-native.js          CPU build through node-gyp into build/ (run by `npm ci`/`npm install`).
//                                         lmk works without it (through the TypeScript reference), so a failed
//                                         build prints one warning and does not fail the install.
//   node scripts/build-native.js --cuda   CPU + CUDA build through cmake-js into build-cuda/ (`npm run build:cuda`);
//                                         needs nvcc (PATH, $CUDACXX or /usr/local/cuda/bin). Fails loudly.
//   node scripts/build-native.js --asan   dev check: CPU build with AddressSanitizer in a temporary folder;
//                                         prints how to run the tests against it.
// Offline machines: node-gyp is pointed at the running node's own headers when they are installed, and
// cmake-js uses the node-api-headers package (package.json "binary.napi_versions"), so neither downloads.
const { spawnSync } = require('child_process');
const { existsSync, mkdtempSync, cpSync, symlinkSync } = require('fs');
const { join, dirname, delimiter } = require('path');
const os = require('os');

const root = join(__dirname, '..');
const mode = process.argv.includes('--cuda') ? 'cuda' : process.argv.includes('--asan') ? 'asan' : 'cpu';

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32', ...options });
  return r.status === 0;
}

/** [command, ...leading args] that runs node-gyp: npm's own during npm scripts, else PATH, else npm's bundled copy. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' });
  if (onPath.status === 0) return ['node-gyp'];
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return undefined;
}

/** --nodedir pointing at the installed headers of this node, so that node-gyp needs no download. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function buildCpu(cwd, env) {
  const gyp = nodeGyp();
  if (!gyp) return false;
  return run(gyp[0], [...gyp.slice(1), 'rebuild', ...nodedirArgs()], { cwd, env });
}

function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const dir of (process.env.PATH || '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  return candidates.find((c) => existsSync(c));
}

if (mode === 'cpu') {
  if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
  if (!buildCpu(root, process.env)) {
    console.warn('lmk: warning: the native addon did not build; heatmap rendering and decoding will use the slower TypeScript reference.');
  }
} else if (mode === 'cuda') {
  const nvcc = findNvcc();
  if (!nvcc) {
    console.error('lmk: error: nvcc not found (looked in $CUDACXX, PATH and /usr/local/cuda/bin); install the CUDA toolkit or use the CPU build (node scripts/build-native.js).');
    process.exit(1);
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const args = [cmakeJs, 'rebuild', '--directory', root, '--out', join(root, 'build-cuda')];
  if (process.env.LMK_CUDA_ARCHITECTURES) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.LMK_CUDA_ARCHITECTURES}`);
  if (!run(process.execPath, args, { cwd: root, env: { ...process.env, CUDACXX: nvcc } })) {
    console.error('lmk: error: the CUDA build of the native addon failed (see the cmake output above).');
    process.exit(1);
  }
  console.log(`lmk: built ${join(root, 'build-cuda', 'Release', 'lmk_heatmaps.node')} (CPU + CUDA); lmk loads the more recent of this and build/ (the CPU build).`);
} else {
  // A copy of the build inputs in a temporary folder keeps the shared build/ (used by everyone's tests) intact.
  const dir = mkdtempSync(join(os.tmpdir(), 'lmk-asan-'));
  cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
  cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const flags = '-fsanitize=address -fno-omit-frame-pointer -g';
  const env = { ...process.env, CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address' };
  if (!buildCpu(dir, env)) {
    console.error('lmk: error: the AddressSanitizer build failed (see the output above).');
    process.exit(1);
  }
  const addon = join(dir, 'build', 'Release', 'lmk_heatmaps.node');
  const libasan = spawnSync(process.env.CXX || 'g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
  console.log(`lmk: built ${addon} with AddressSanitizer. Run the native tests against it with:`);
  console.log(`  LMK_NATIVE_ADDON=${addon} LD_PRELOAD=${libasan} ASAN_OPTIONS=detect_leaks=0 npx jest test/heatmaps`);
}
