import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import * as ts from 'typescript';

const REPO = resolve(__dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? files(path) : [path];
  });
}

/**
 * The CLI as JavaScript in `outDir` (with the files it serves), for tests that run `lmk` as a child process (signals, exit codes).
 * Each source file is transpiled on its own (the project compiles with isolatedModules), which takes a
 * second or two where a full `tsc` build takes tens of seconds and would race with other builds of dist/.
 * Returns the command's script and the environment it needs (module and native-addon paths).
 */
export function buildCli(outDir: string): { script: string; env: NodeJS.ProcessEnv } {
  for (const file of files(join(REPO, 'src'))) {
    if (file.endsWith('.d.ts')) continue;
    // Not TypeScript (the review page's HTML, JS and CSS): copied as it is, as npm run build does.
    if (!file.endsWith('.ts')) {
      const target = join(outDir, relative(join(REPO, 'src'), file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
      continue;
    }
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const target = join(outDir, relative(join(REPO, 'src'), file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
  }
  const addon = join(REPO, 'build', 'Release', 'lmk_heatmaps.node');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: join(REPO, 'node_modules') };
  if (existsSync(addon)) env.LMK_NATIVE_ADDON = addon;
  return { script: join(outDir, 'cli', 'lmk.js'), env };
}
