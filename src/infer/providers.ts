import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, copyFileSync, renameSync, readdirSync } from 'fs';
import { spawnSync } from 'child_process';
import { dirname, join } from 'path';
import { tmpdir } from 'os';

export type ExecutionProvider = 'cpu' | 'cuda';

/**
 * onnxruntime-node ships only the CPU provider in the npm package; its install script would fetch the
 * CUDA provider from NuGet, which fails without outside network (we skip it in .npmrc). The CUDA 13
 * provider of the same ONNX Runtime release is also published on the npm registry by the
 * onnxruntime-unity project; this table pins which package matches which onnxruntime-node.
 */
const NPM_CUDA_PROVIDERS: Record<string, { pkg: string; version: string; dir: string }> = {
  '1.29.0': { pkg: 'com.github.asus4.onnxruntime.linux-x64-gpu', version: '0.4.9', dir: 'Plugins/Linux/x64' },
};

const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

function ortPackageDir(): string {
  return dirname(require.resolve('onnxruntime-node/package.json'));
}

export function ortVersion(): string {
  return JSON.parse(readFileSync(join(ortPackageDir(), 'package.json'), 'utf8')).version as string;
}

/** Where onnxruntime-node loads provider libraries from on this platform. */
export function providerDir(): string {
  return join(ortPackageDir(), 'bin', 'napi-v6', process.platform, process.arch);
}

export interface CudaProviderStatus {
  dir: string;
  installed: boolean;
  missing: string[];
}

export function cudaProviderStatus(): CudaProviderStatus {
  const dir = providerDir();
  const missing = CUDA_PROVIDER_FILES.filter((f) => !existsSync(join(dir, f)));
  return { dir, installed: missing.length === 0, missing };
}

/**
 * Why the CUDA provider cannot start, or undefined when its libraries load. Loading the provider
 * library's dependencies ourselves names the missing one (e.g. libcublasLt.so.13) in one line, before
 * ONNX Runtime is asked (which would print a multi-line log of its own).
 */
export function cudaProviderProblem(): string | undefined {
  const status = cudaProviderStatus();
  if (!status.installed) {
    return `the CUDA execution provider is not installed (missing ${status.missing.join(', ')} in ${status.dir}); run 'lmk setup cuda'`;
  }
  // The provider library itself is not loaded here: it takes Provider_GetHost from
  // libonnxruntime_providers_shared.so, which ONNX Runtime loads (and sets up) first, and loading it outside
  // ONNX Runtime fails on that symbol, or crashes the process once that library is loaded. Its own
  // dependencies (CUDA runtime, cuBLAS, ...) are what a machine lacks, and they load on their own.
  const provider = join(status.dir, 'libonnxruntime_providers_cuda.so');
  let needed: string[];
  try {
    needed = neededLibraries(provider);
  } catch (err) {
    return `the CUDA execution provider ${provider} is not a readable shared library: ${(err as Error).message}`;
  }
  // cuDNN is not linked: ONNX Runtime opens it when the first session starts.
  for (const lib of [...needed, 'libcudnn.so.9']) {
    const problem = loadProblem(lib);
    if (problem) return `the CUDA execution provider cannot load (CUDA 13 runtime, cuBLAS, cuDNN 9 and an NVIDIA driver are needed): ${problem}`;
  }
  return undefined;
}

/** Why a shared library does not load (dlopen's message), or undefined when it does. */
function loadProblem(path: string): string | undefined {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, path);
  } catch (err) {
    const message = (err as Error).message;
    // Any library loads and then fails this way: it is not a Node addon. Its dependencies resolved.
    if (/did not self-register/.test(message)) return undefined;
    return message;
  }
  return undefined;
}

/**
 * The DT_NEEDED entries (sonames) of a little-endian ELF64 shared library, read from its dynamic section
 * without loading it.
 */
export function neededLibraries(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number, exact = true): Buffer => {
      const b = Buffer.alloc(length);
      const n = readSync(fd, b, 0, length, offset);
      if (exact ? n !== length : n === 0) throw new Error(`truncated at byte ${offset}`);
      return b.subarray(0, n);
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) throw new Error('not a little-endian ELF64 file');
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const loads: { vaddr: number; offset: number; size: number }[] = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const ph = read(phoff + i * phentsize, 56);
      const type = ph.readUInt32LE(0);
      const offset = Number(ph.readBigUInt64LE(8));
      if (type === 1) loads.push({ vaddr: Number(ph.readBigUInt64LE(16)), offset, size: Number(ph.readBigUInt64LE(32)) });
      if (type === 2) dynamic = { offset, size: Number(ph.readBigUInt64LE(32)) };
    }
    if (!dynamic) throw new Error('no dynamic section');
    const entries = read(dynamic.offset, dynamic.size);
    const neededOffsets: number[] = [];
    let strtab: number | undefined;
    for (let k = 0; k + 16 <= entries.length; k += 16) {
      const tag = entries.readBigInt64LE(k);
      const value = Number(entries.readBigUInt64LE(k + 8));
      if (tag === 0n) break;
      if (tag === 1n) neededOffsets.push(value);
      if (tag === 5n) strtab = value;
    }
    if (strtab === undefined) throw new Error('no string table');
    const segment = loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.size);
    if (!segment) throw new Error('string table outside the loaded segments');
    const strtabOffset = segment.offset + (strtab - segment.vaddr);
    return neededOffsets.map((o) => {
      const b = read(strtabOffset + o, 256, false);
      const end = b.indexOf(0);
      if (end < 0) throw new Error('unterminated library name');
      return b.toString('latin1', 0, end);
    });
  } finally {
    closeSync(fd);
  }
}

export type CudaSource = 'npm' | 'nuget';

export interface SetupCudaResult {
  source: CudaSource;
  dir: string;
  files: string[];
}

/**
 * Installs the CUDA execution provider next to onnxruntime-node's CPU binaries.
 * `npm`: from the npm-registry package pinned for this onnxruntime-node version (works where only the
 * npm registry is reachable); `nuget`: onnxruntime-node's own installer (needs NuGet access).
 */
export function setupCuda(source: CudaSource, log: (line: string) => void = () => undefined): SetupCudaResult {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the CUDA provider is set up for linux/x64 only, not ${process.platform}/${process.arch}`);
  }
  const dir = providerDir();
  if (source === 'nuget') {
    const script = join(ortPackageDir(), 'script', 'install.js');
    const r = spawnSync(process.execPath, [script, '--onnxruntime-node-install=cuda12'], { cwd: ortPackageDir(), stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`onnxruntime-node's CUDA installer failed (exit ${r.status}); without access to NuGet, use --source npm`);
    return { source, dir, files: CUDA_PROVIDER_FILES };
  }
  const version = ortVersion();
  const match = NPM_CUDA_PROVIDERS[version];
  if (!match) {
    throw new Error(`no npm-registry CUDA provider is known to match onnxruntime-node ${version} (known: ${Object.keys(NPM_CUDA_PROVIDERS).join(', ')}); use --source nuget`);
  }
  const work = mkdtempSync(join(tmpdir(), 'lmk-cuda-'));
  try {
    log(`downloading ${match.pkg}@${match.version} (ONNX Runtime ${version} CUDA provider, about 180 MB) from the npm registry`);
    const pack = spawnSync('npm', ['pack', `${match.pkg}@${match.version}`, '--pack-destination', work, '--silent'], { encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm pack ${match.pkg}@${match.version} failed: ${(pack.stderr || pack.error?.message || '').trim().split('\n').pop()}`);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${match.pkg}@${match.version} produced no archive`);
    const members = CUDA_PROVIDER_FILES.map((f) => `package/${match.dir}/${f}`);
    const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', work, ...members], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`could not unpack ${tgz}: ${untar.stderr.trim()}`);
    for (const f of CUDA_PROVIDER_FILES) {
      // Copy beside the target, then rename: a provider library is never left half-written.
      const tmp = join(dir, `.${f}.tmp`);
      copyFileSync(join(work, 'package', match.dir, f), tmp);
      renameSync(tmp, join(dir, f));
      log(`installed ${join(dir, f)}`);
    }
    return { source, dir, files: CUDA_PROVIDER_FILES };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
