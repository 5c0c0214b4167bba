import { join } from 'path';

/**
 * How to start a worker thread whose code sits beside the calling module as `<name>.js` (built) or
 * `<name>.ts` (the source, under ts-jest). Built code runs the .js file; for the source, the worker
 * first registers a transpile-only loader from the `typescript` dev dependency.
 */
export function workerScript(dir: string, name: string, callerFile: string): { script: string; eval: boolean } {
  const compiled = callerFile.endsWith('.js');
  const path = join(dir, `${name}.${compiled ? 'js' : 'ts'}`);
  if (compiled) return { script: path, eval: false };
  const loader = `
    const fs = require('fs');
    const ts = require('typescript');
    require.extensions['.ts'] = (module, filename) => {
      const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
        fileName: filename,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      module._compile(out.outputText, filename);
    };
    require(${JSON.stringify(path)});`;
  return { script: loader, eval: true };
}
