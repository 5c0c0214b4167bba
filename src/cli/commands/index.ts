import { CommandModule } from 'yargs';
import { demoCommand } from './demo';
import { setupCommand } from './setup';
import { exportCommand } from './export';
import { datasetCommand } from './dataset';
import { inspectCommand } from './inspect';
import { trainCommand } from './train';
import { predictCommand } from './predict';
import { pacsCommand } from './pacs';
import { evalCommand } from './eval';
import { cvCommand } from './cv';
import { studyCommand } from './study';
import { modelsCommand } from './models';
import { mergeCommand } from './merge';
import { reviewCommand } from './review';
import { joinCommand } from './join';

/** Every `lmk` subcommand, one module each under this folder. */
export const commands: CommandModule<any, any>[] = [
  demoCommand,
  setupCommand,
  exportCommand,
  datasetCommand,
  inspectCommand,
  modelsCommand,
  trainCommand,
  joinCommand,
  predictCommand,
  mergeCommand,
  reviewCommand,
  pacsCommand,
  evalCommand,
  cvCommand,
  studyCommand,
];
