// `rwkvstream classify FILE|- --labels a,b,c`: the distribution of a document of any length over the labels,
// read in this process, checkpointed after every chunk (an interrupted run resumes when run again).
import type { Command } from 'commander';

import { runDocumentJob } from '../../embedded/index.ts';
import { deliverDocument } from '../deliver.ts';
import { DOCUMENT_CONFIG_FLAGS, addEmbeddedFlags, runEmbedded, type EmbeddedFlags } from '../embedded-command.ts';
import { addClassifyFlags, classifyTask, type ClassifyFlags } from '../task-flags.ts';

export function classifyCommand(program: Command): void {
  const cmd = program
    .command('classify')
    .argument('<file>', 'the document ("-": standard input)')
    .description('classify a document of any length over the given labels in this process (resumable)');
  addEmbeddedFlags(addClassifyFlags(cmd), DOCUMENT_CONFIG_FLAGS).action(async (file: string, flags: EmbeddedFlags & ClassifyFlags) => {
    await runEmbedded('classify', file, flags, {
      prepare: (config) => classifyTask(flags, config.classify),
      run: ({ options, reporter }, task) => runDocumentJob({ ...options, task }, deliverDocument(flags.json === true, reporter)),
    });
  });
}
