import { existsSync, statSync } from 'fs';
import { join, resolve } from 'path';
import { Argv, CommandModule } from 'yargs';
import { credentialsFromEnv, DicomwebClient, PACS_FILES, PacsPassResult, runPacsPass } from '../../pacs';
import { modelAlgorithm } from '../../sr';
import { check, usage } from '../validate';
import { createPredictor, PredictorArgs, stopOnSignals, validatePredictorArgs, withPredictorOptions } from './predictor-options';
import { resolveShard, ShardArgs, withShardOptions } from './shard-options';

interface PacsArgs extends PredictorArgs, ShardArgs {
  url: string;
  out: string;
  filter: string[];
  once?: boolean;
  poll?: number;
  'store-sr': boolean;
  quiet: boolean;
}

/** `Modality=CR,DX` -> { Modality: ['CR', 'DX'] }; a key is a DICOM keyword or an 8-digit hex tag, as QIDO-RS takes them. */
export function parseFilters(specs: string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z][A-Za-z0-9]*|[0-9A-Fa-f]{8})=(.+)$/.exec(spec);
    check(m !== null, `--filter ${spec}: expected KEY=VALUE[,VALUE...], KEY a DICOM keyword or tag (e.g. Modality=CR,DX)`);
    const values = m![2].split(',').map((v) => v.trim()).filter(Boolean);
    check(values.length > 0, `--filter ${spec}: no value`);
    check(!(m![1] in filters), `--filter ${m![1]} is given twice; list its values after one =, comma-separated`);
    filters[m![1]] = values;
  }
  return filters;
}

function summary(r: PacsPassResult, outDir: string): string {
  const parts = [`${r.found} instance(s) found (SRs left out)`, `${r.skipped} done before (${r.skippedFailed} of them failed)`, `predicted ${r.predicted}`, `failed ${r.failed}`];
  if (r.stored) parts.push(`stored ${r.stored} SR(s)`);
  const files = [PACS_FILES.predictions, ...(r.failed || r.skippedFailed || r.fault ? [PACS_FILES.errors] : [])].map((f) => join(outDir, f));
  return `${parts.join(', ')}; see ${files.join(', ')}`;
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((done) => {
  const timer = setTimeout(done, ms);
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    done();
  }, { once: true });
});

export const pacsCommand: CommandModule<object, PacsArgs> = {
  command: 'pacs',
  describe: 'Landmarks for the images on a DICOMweb server (QIDO-RS, WADO-RS): an SR per image in OUT/sr, stored back with --store-sr (STOW-RS); resumable',
  builder: (y: Argv) => withShardOptions(withPredictorOptions(y))
    .option('url', { type: 'string', demandOption: true, describe: 'DICOMweb service root (http or https); credentials from LMK_DICOMWEB_USER + LMK_DICOMWEB_PASSWORD or LMK_DICOMWEB_TOKEN' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder: predictions.jsonl, stored.jsonl, errors.jsonl, sr/; a rerun skips what is done' })
    .option('filter', { type: 'string', array: true, default: [], describe: 'QIDO-RS match KEY=V1,V2 (values or-ed, keys and-ed), e.g. Modality=CR,DX' })
    .option('once', { type: 'boolean', describe: 'one pass over the server, then exit (the default)' })
    .option('poll', { type: 'number', describe: 'look for new instances every SECONDS until Ctrl-C' })
    .option('store-sr', { type: 'boolean', default: false, describe: 'store each SR on the server (STOW-RS)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no summary lines' })
    .example('LMK_DICOMWEB_USER=lmk LMK_DICOMWEB_PASSWORD=... $0 pacs --url https://pacs/dicom-web --model head.onnx --out runs/pacs --filter Modality=CR,DX --store-sr', 'one pass, SRs stored back')
    .example('$0 pacs --url http://localhost:8042/dicom-web --model head.onnx --out runs/pacs --poll 60 --store-sr', 'a worker that keeps up with new images') as unknown as Argv<PacsArgs>,
  handler: async (args) => {
    validatePredictorArgs(args);
    check(!(args.once && args.poll !== undefined), '--once and --poll exclude each other');
    check(args.poll === undefined || (Number.isFinite(args.poll) && args.poll > 0), `--poll must be a number of seconds > 0, got ${args.poll}`);
    check(!existsSync(args.out) || statSync(args.out).isDirectory(), `--out ${args.out}: exists and is not a folder`);
    const filters = parseFilters(args.filter);
    const client = usage(() => new DicomwebClient({ url: args.url, credentials: credentialsFromEnv() }));
    const outDir = resolve(args.out);
    const shard = resolveShard(args, 'lmk pacs');
    const predictor = await createPredictor(args);
    const stop = stopOnSignals('lmk pacs', 'finishing the instance in flight');
    const say = (line: string) => {
      if (!args.quiet) process.stderr.write(`lmk pacs: ${line}\n`);
    };
    let failed = false;
    try {
      const algorithm = modelAlgorithm(args.model);
      for (;;) {
        const r = await runPacsPass({
          client, predictor, outDir, algorithm, filters, storeSr: args['store-sr'], keepImplausible: args['keep-implausible'], shard, workers: args.workers, batch: args.batch, signal: stop.signal,
        });
        failed ||= r.failed + r.skippedFailed > 0;
        // A fault before the search ended leaves nothing to sum up.
        if (!r.fault || r.found > 0) say(summary(r, outDir));
        if (r.fault) {
          // Once: the run ends with the fault (a rerun finishes the rest); polling: the next pass tries again.
          if (args.poll === undefined) throw r.fault;
          process.stderr.write(`lmk pacs: ${r.fault.message}; trying again in ${args.poll} s\n`);
        }
        if (args.poll === undefined || stop.signal.aborted) break;
        await sleep(args.poll * 1000, stop.signal);
        if (stop.signal.aborted) break;
      }
    } finally {
      stop.release();
      await predictor.release();
    }
    if (stop.exitCode()) process.exitCode = stop.exitCode();
    else if (failed) process.exitCode = 1;
  },
};
