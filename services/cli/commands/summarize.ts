// `rwkvstream summarize FILE|-`: a summary of a document of any length, read in this process — no Kafka, no
// Redis. The state is checkpointed after every chunk in the checkpoint directory: a run stopped with Ctrl-C or
// killed resumes when the same command runs again, and prints the result an uninterrupted run prints. On a
// terminal (or with --stream) the summary is printed as it is generated; --show-prompt prints what the model
// would read instead of running it.
import type { Command } from 'commander';

import { addEmbeddedFlags, addSectionFlags, addSummarizeFlags } from '../command-flags.ts';
import type { EmbeddedFlags } from '../embedded-command.ts';
import type { SummarizeFlags } from '../task-flags.ts';

interface Flags extends EmbeddedFlags, SummarizeFlags {
  stream?: boolean;
}

export function summarizeCommand(program: Command): void {
  const cmd = program
    .command('summarize')
    .argument('<file>', 'the document ("-": standard input)')
    .description(
      'summarize a document of any length in this process (resumable: run the same command again after an interruption)',
    );
  addEmbeddedFlags(addSectionFlags(addSummarizeFlags(cmd), 'summarize'), 'summarize')
    .option('--stream', 'print the summary as it is generated even when the output is not a terminal')
    .action(async (file: string, flags: Flags) => {
      const { summarizeTask } = await import('../task-flags.ts');
      if (flags.showPrompt) {
        const { runShowPrompt } = await import('../show-prompt.ts');
        await runShowPrompt(file, flags, (config, format) => summarizeTask(flags, config.summary, format));
        return;
      }
      const { runDocumentJob } = await import('../../embedded/index.ts');
      const { choosePromptFormat } = await import('../../models/index.ts');
      const { documentOutput } = await import('../deliver.ts');
      const { runEmbedded } = await import('../embedded-command.ts');
      await runEmbedded('summarize', file, flags, {
        prepare: async (config, loaded) =>
          summarizeTask(flags, config.summary, (await choosePromptFormat(config, loaded.origin)).format),
        run: ({ options, reporter }, task) => {
          const live = flags.stream === true || process.stdout.isTTY === true;
          const output = documentOutput(flags.json === true, reporter, live, task);
          return runDocumentJob(
            { ...options, task, onSection: output.section, ...(output.liveText ? { liveText: output.liveText } : {}) },
            output.deliver,
          );
        },
      });
    });
}
