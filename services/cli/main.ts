#!/usr/bin/env node
// The `rwkvstream` entry point: runs the command line; errors become one line on stderr and an exit status.
import { CommanderError } from 'commander';

import { quietOnClosedStdout, reportError } from './output.ts';
import { buildProgram, commanderExit } from './program.ts';

quietOnClosedStdout();

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    // commander has already printed its message (and the pointer to --help).
    if (err instanceof CommanderError) process.exit(commanderExit(err));
    reportError(err);
  });
