import { spawn } from 'child_process';
import { readFileSync } from 'fs';
import { Argv, CommandModule } from 'yargs';
import { LandmarkName, LANDMARK_NAMES_KEY, parseLandmarkNames } from '../../data/landmark-names';
import { resolveModelFile } from '../../models/shipped';
import { readModelMetadata } from '../../onnx';
import { exportReviewed, startReviewServer } from '../../review';
import { check, usage } from '../validate';
import { stopOnSignals } from './predictor-options';

interface ModelArg {
  folder: string;
  model?: string;
}

interface ServeArgs extends ModelArg {
  port: number;
  host: string;
  open: boolean;
}

interface ExportArgs extends ModelArg {
  out: string;
}

/** The landmark names a model stores (the predictions themselves carry none). */
function modelNames(model: string | undefined): LandmarkName[] | undefined {
  if (model === undefined) return undefined;
  const file = usage(() => resolveModelFile(model, '--model '));
  const metadata = readModelMetadata(readFileSync(file));
  return usage(() => parseLandmarkNames(metadata[LANDMARK_NAMES_KEY], Number(metadata['lmk.classes']), file));
}

const withModel = (y: Argv): Argv => y
  .positional('folder', { type: 'string', demandOption: true, describe: 'the --out folder of lmk predict' })
  .option('model', { type: 'string', describe: 'the model that made the predictions (a file or a shipped name), for its landmark names (default: landmark N)' });

/** Opens the address in the desktop's browser; where there is none, the printed address is the way in. */
function openBrowser(url: string): void {
  const [command, ...args] = process.platform === 'darwin' ? ['open'] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""'] : ['xdg-open'];
  const child = spawn(command, [...args, url], { stdio: 'ignore', detached: true });
  child.on('error', (err) => process.stderr.write(`lmk review: --open: could not start ${command} (${err.message}); open the address above yourself\n`));
  child.unref();
}

const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export <folder>',
  describe: 'Write the accepted images of FOLDER/reviewed.jsonl as a csv data set (OUT/landmarks.csv) for lmk train --format csv',
  builder: (y: Argv) => withModel(y)
    .option('out', { type: 'string', demandOption: true, describe: 'the data set folder to write (landmarks.csv; landmark-names.txt with --model)' })
    .example('$0 review export preds --out reviewed --model isbi2015-head', 'then: lmk train --format csv --root reviewed --init-weights isbi2015-head ...') as unknown as Argv<ExportArgs>,
  handler: async (args) => {
    const names = modelNames(args.model);
    const r = await exportReviewed(args.folder, args.out, names);
    const left = [...(r.notAccepted ? [`${r.notAccepted} with moved points but not accepted`] : []), ...(r.missing ? [`${r.missing} whose image is gone`] : [])];
    process.stderr.write(`lmk review export: ${r.exported} accepted images in ${r.csvFile}${r.namesFile ? ` and names in ${r.namesFile}` : ''}${left.length ? `; left out ${left.join(', ')}` : ''}\n`);
  },
};

export const reviewCommand: CommandModule<object, ServeArgs> = {
  command: 'review <folder>',
  describe: 'Serve a local page to look at FOLDER\'s predictions worst first, drag wrong landmarks and accept images (FOLDER/reviewed.jsonl); review export turns them into a data set',
  builder: (y: Argv) => withModel(y)
    .command(exportCommand)
    .option('port', { type: 'number', default: 0, describe: 'port (0: any free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (the default lets only this machine in; the token is needed either way)' })
    .option('open', { type: 'boolean', default: false, describe: 'open the page in the desktop\'s browser' })
    .example('$0 review preds --model isbi2015-head', 'prints the address (with its token) to open')
    .example('$0 review export preds --out reviewed', 'the accepted images as a csv data set') as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    check(Number.isInteger(args.port) && args.port >= 0 && args.port <= 65535, `--port must be a whole number from 0 to 65535, got ${args.port}`);
    const names = modelNames(args.model);
    const server = await startReviewServer({
      outDir: args.folder, host: args.host, port: args.port, landmarkNames: names,
      onError: (message) => process.stderr.write(`lmk review: ${message}\n`),
    });
    const { store } = server;
    for (const message of store.problems.messages) process.stderr.write(`lmk review: ${message}\n`);
    if (store.problems.count > store.problems.messages.length) process.stderr.write(`lmk review: ... ${store.problems.count - store.problems.messages.length} more problems like these\n`);
    process.stderr.write(`lmk review: ${store.items.length} images, ${store.acceptedCount} accepted so far; open this address (Ctrl-C to stop):\n`);
    process.stdout.write(`${server.url}\n`);
    if (args.open) openBrowser(server.url);
    const stop = stopOnSignals('lmk review', 'stopping');
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    stop.release();
    await server.close();
  },
};
