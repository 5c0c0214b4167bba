import yargs, { CommandModule } from 'yargs';
import { UsageError } from './errors';

/**
 * Runs a yargs program: usage problems exit 2, any other failure prints one line
 * (`<program>: <message>`) and exits 1. Commands set `process.exitCode` themselves for partial failures.
 */
export async function runCli(program: string, argv: string[], commands: CommandModule<any, any>[], describe?: string): Promise<void> {
  const parser = yargs(argv)
    .scriptName(program)
    .strict()
    .demandCommand(1, 'name a command')
    .recommendCommands()
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
  if (describe) parser.usage(describe);
  for (const c of commands) parser.command(c);
  try {
    await parser.parseAsync();
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`${program}: ${e.message}\n`);
    if (e instanceof UsageError) process.stderr.write(`(run '${program} --help' for usage)\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
