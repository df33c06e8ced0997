#!/usr/bin/env node
// The `rwkvstream` entry point: runs the command line; errors become one line on stderr and an exit status.
import { CommanderError } from 'commander';

import type { ErrorCode } from '../../schemas/error-codes.ts';
import { addonFromEnvironment } from '../config/addon.ts';
import { quietOnClosedStdout, reportError } from './output.ts';
import { buildProgram, commanderExit } from './program.ts';

/** A command whose work was still pending when the process had nothing left to wait on. */
class StalledError extends Error {
  readonly code = 'E_UNSETTLED' satisfies ErrorCode;
}

quietOnClosedStdout();
// Only records the file: the addon itself is loaded by the first command that needs the engine. The engine's
// module is imported only then, so that --version and --help stay small.
const addon = addonFromEnvironment();
if (addon !== undefined) (await import('../../engine/native.ts')).useAddon(addon);

// Node exits with status 0 once its event loop is empty, even while a promise is pending: a client that
// drops its sockets without settling its connect() would end the command silently, as if it had succeeded.
// The loop emptying before the command finished is a failure, said as one.
let finished = false;
process.once('beforeExit', () => {
  if (!finished) {
    reportError(
      new StalledError(
        'the command stopped before it finished: a pending connection or request neither answered nor failed, and nothing was left to wait for',
      ),
    );
  }
});

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => {
      finished = true;
    },
    (err: unknown) => {
      finished = true;
      // commander has already printed its message (and the pointer to --help).
      if (err instanceof CommanderError) process.exit(commanderExit(err));
      reportError(err);
    },
  );
