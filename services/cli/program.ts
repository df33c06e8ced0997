// The `rwkvstream` command tree: this file only wires commands (each lives in commands/) and the conventions
// they share — usage errors exit 2 with a short message and a pointer to --help, --version prints the
// package version. A command module defines its flags and help only; its action imports what it runs when it
// runs, so building the tree (all that --help and --version need) loads no engine, schema or service client.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Command, type CommanderError } from 'commander';

import { packageRoot } from '../../engine/package-root.ts';
import { classifyCommand } from './commands/classify.ts';
import { doctorCommand } from './commands/doctor.ts';
import { inspectCommand } from './commands/inspect.ts';
import { logitsCommand } from './commands/logits.ts';
import { modelsCommands } from './commands/models.ts';
import { randomModelCommand } from './commands/random-model.ts';
import { resultCommand } from './commands/result.ts';
import { scanCommand } from './commands/scan.ts';
import { sendEventsCommand } from './commands/send-events.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { summarizeCommand } from './commands/summarize.ts';
import { tokenizeCommands } from './commands/tokenize.ts';
import { workerCommand } from './commands/worker.ts';
import { EXIT } from './output.ts';

export const VERSION = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

/** The command a usage error is about, for its "see ... --help" pointer. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function buildProgram(): Command {
  const program = new Command()
    .name('rwkvstream')
    .description('Read documents of any length with an RWKV model: summaries, classifications, anomaly scores.')
    .version(VERSION, '-V, --version', 'print the version')
    // Settings inherited by every command added below: commander's errors become exceptions (so the exit
    // status is ours), and its messages get a pointer to the command's help instead of the whole help.
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(text),
    });

  inspectCommand(program);
  logitsCommand(program);
  randomModelCommand(program);
  tokenizeCommands(program);
  doctorCommand(program);
  modelsCommands(program);
  workerCommand(program);
  submitCommand(program);
  sendEventsCommand(program);
  resultCommand(program);
  statusCommand(program);
  summarizeCommand(program);
  classifyCommand(program);
  scanCommand(program);

  // The help pointer names the command the error is about (commander's own errors know their command).
  const point = (cmd: Command) => {
    cmd.showHelpAfterError(`(see: ${commandPath(cmd)} --help)`);
    cmd.commands.forEach(point);
  };
  point(program);
  return program;
}

/** The exit status of a commander error: help and version are not errors; anything else is a usage error. */
export function commanderExit(err: CommanderError): number {
  return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code) || err.exitCode === 0
    ? EXIT.ok
    : EXIT.usage;
}
