#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { runCli } from './run';
import { commands } from './commands';

void runCli('lmk', hideBin(process.argv), commands, 'lmk <command> [options]\n\nAnatomical landmark detection for x-ray images.');
