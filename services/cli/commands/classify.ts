// `rwkvstream classify FILE|- --labels a,b,c`: the distribution of a document of any length over the labels,
// read in this process, checkpointed after every chunk (an interrupted run resumes when run again).
import type { Command } from 'commander';

import { runDocumentJob } from '../../embedded/index.ts';
import { documentOutput } from '../deliver.ts';
import { DOCUMENT_CONFIG_FLAGS, addEmbeddedFlags, runEmbedded, type EmbeddedFlags } from '../embedded-command.ts';
import { addClassifyFlags, addSectionFlags, classifyTask, type ClassifyFlags } from '../task-flags.ts';

export function classifyCommand(program: Command): void {
  const cmd = program
    .command('classify')
    .argument('<file>', 'the document ("-": standard input)')
    .description('classify a document of any length over the given labels in this process (resumable)');
  addEmbeddedFlags(addSectionFlags(addClassifyFlags(cmd), 'classify'), DOCUMENT_CONFIG_FLAGS).action(async (file: string, flags: EmbeddedFlags & ClassifyFlags) => {
    await runEmbedded('classify', file, flags, {
      prepare: (config) => classifyTask(flags, config.classify),
      run: ({ options, reporter }, task) => {
        const output = documentOutput(flags.json === true, reporter);
        return runDocumentJob({ ...options, task, onSection: output.section }, output.deliver);
      },
    });
  });
}
