// `rwkvstream classify FILE|- --labels a,b,c`: the distribution of a document of any length over the labels,
// read in this process, checkpointed after every chunk (an interrupted run resumes when run again);
// --show-prompt prints what the model would read instead.
import type { Command } from 'commander';

import { addClassifyFlags, addEmbeddedFlags, addSectionFlags } from '../command-flags.ts';
import type { EmbeddedFlags } from '../embedded-command.ts';
import type { ClassifyFlags } from '../task-flags.ts';

export function classifyCommand(program: Command): void {
  const cmd = program
    .command('classify')
    .argument('<file>', 'the document ("-": standard input)')
    .description('classify a document of any length over the given labels in this process (resumable)');
  addEmbeddedFlags(addSectionFlags(addClassifyFlags(cmd), 'classify'), 'classify').action(
    async (file: string, flags: EmbeddedFlags & ClassifyFlags) => {
      const { classifyTask } = await import('../task-flags.ts');
      if (flags.showPrompt) {
        const { runShowPrompt } = await import('../show-prompt.ts');
        await runShowPrompt(file, flags, (config, format) => classifyTask(flags, config.classify, format));
        return;
      }
      const { runDocumentJob } = await import('../../embedded/index.ts');
      const { choosePromptFormat } = await import('../../models/index.ts');
      const { documentOutput } = await import('../deliver.ts');
      const { runEmbedded } = await import('../embedded-command.ts');
      await runEmbedded('classify', file, flags, {
        prepare: async (config, loaded) =>
          classifyTask(flags, config.classify, (await choosePromptFormat(config, loaded.origin)).format),
        run: ({ options, reporter }, task) => {
          const output = documentOutput(flags.json === true, reporter);
          return runDocumentJob({ ...options, task, onSection: output.section }, output.deliver);
        },
      });
    },
  );
}
