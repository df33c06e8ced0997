// `rwkvstream doctor`: checks the engine, the model and its tokenizer, Redis and Kafka, and says what to fix.
// Exit status 1 when a check failed (warnings alone exit 0), so scripts and CI can gate on it.
import type { Command } from 'commander';

import { addCommandSettings } from '../../config/flags.ts';
import type { ConfigFlags } from '../../config/index.ts';
import { printJson } from '../output.ts';

export function doctorCommand(program: Command): void {
  addCommandSettings(
    program
      .command('doctor')
      .description('check the native engine, the model and its tokenizer, Redis and Kafka, with a fix for each problem')
      .option('--json', 'print the report as JSON'),
    'doctor',
  ).action(async (flags: ConfigFlags & { json?: boolean }) => {
    const { formatReport, runDoctor } = await import('../../doctor/run.ts');
    const report = await runDoctor({ flags });
    if (flags.json) printJson(report);
    else process.stdout.write(formatReport(report));
    if (!report.ok) process.exitCode = 1;
  });
}
