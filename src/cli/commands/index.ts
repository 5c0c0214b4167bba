import { CommandModule } from 'yargs';

/** Every `lmk` subcommand, one module each under this folder. */
export const commands: CommandModule<any, any>[] = [];
