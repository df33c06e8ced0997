// The `rwkvstream` entry point: runs the command line; errors become one line on stderr and an exit status.
import { CommanderError } from 'commander';

import { useAddon } from '../../engine/native.ts';
import { addonFromEnvironment } from '../config/addon.ts';
import { quietOnClosedStdout, reportError } from './output.ts';
import { buildProgram, commanderExit } from './program.ts';

quietOnClosedStdout();
// Only records the file: the addon itself is loaded by the first command that needs the engine.
const addon = addonFromEnvironment();
if (addon !== undefined) useAddon(addon);

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    // commander has already printed its message (and the pointer to --help).
    if (err instanceof CommanderError) process.exit(commanderExit(err));
    reportError(err);
  });
