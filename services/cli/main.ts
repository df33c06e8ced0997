// The `rwkvstream` command line: this file only wires commands; each lives in commands/.
import { Command } from 'commander';

import { classifyCommand } from './commands/classify.ts';
import { doctorCommand } from './commands/doctor.ts';
import { inspectCommand } from './commands/inspect.ts';
import { logitsCommand } from './commands/logits.ts';
import { modelsCommands } from './commands/models.ts';
import { randomModelCommand } from './commands/random-model.ts';
import { resultCommand } from './commands/result.ts';
import { scanCommand } from './commands/scan.ts';
import { sendEventsCommand } from './commands/send-events.ts';
import { submitCommand } from './commands/submit.ts';
import { summarizeCommand } from './commands/summarize.ts';
import { tokenizeCommands } from './commands/tokenize.ts';
import { workerCommand } from './commands/worker.ts';
import { reportError } from './output.ts';

const program = new Command()
  .name('rwkvstream')
  .description('Read documents of any length with an RWKV model: summaries, classifications, anomaly scores.')
  .showHelpAfterError();

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
summarizeCommand(program);
classifyCommand(program);
scanCommand(program);

program.parseAsync(process.argv).catch(reportError);
