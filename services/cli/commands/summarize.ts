// `rwkvstream summarize FILE|-`: a summary of a document of any length, read in this process — no Kafka, no
// Redis. The state is checkpointed after every chunk in the checkpoint directory: a run stopped with Ctrl-C or
// killed resumes when the same command runs again, and prints the result an uninterrupted run prints.
import type { Command } from 'commander';

import { runDocumentJob } from '../../embedded/index.ts';
import { documentOutput } from '../deliver.ts';
import { DOCUMENT_CONFIG_FLAGS, addEmbeddedFlags, runEmbedded, type EmbeddedFlags } from '../embedded-command.ts';
import { addSectionFlags, addSummarizeFlags, summarizeTask, type SummarizeFlags } from '../task-flags.ts';

export function summarizeCommand(program: Command): void {
  const cmd = program
    .command('summarize')
    .argument('<file>', 'the document ("-": standard input)')
    .description('summarize a document of any length in this process (resumable: run the same command again after an interruption)');
  addEmbeddedFlags(addSectionFlags(addSummarizeFlags(cmd), 'summarize'), DOCUMENT_CONFIG_FLAGS).action(async (file: string, flags: EmbeddedFlags & SummarizeFlags) => {
    await runEmbedded('summarize', file, flags, {
      prepare: (config) => summarizeTask(flags, config.summary),
      run: ({ options, reporter }, task) => {
        const output = documentOutput(flags.json === true, reporter);
        return runDocumentJob({ ...options, task, onSection: output.section }, output.deliver);
      },
    });
  });
}
