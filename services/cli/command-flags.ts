// The flags of the commands, apart from the code that reads them: building the command tree (all that --help
// and --version need) loads no schema, engine or service module. The settings flags come from the settings
// table (services/config/bindings.ts); each command's own flags are here or in its module.
import type { Command } from 'commander';

import { addCommandSettings } from '../config/flags.ts';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The settings table's flags of `command`, and the options every embedded command has. */
export function addEmbeddedFlags(cmd: Command, command: 'summarize' | 'classify' | 'scan'): Command {
  return addCommandSettings(cmd, command)
    .option('--id <id>', 'the id the result carries (default: the file name, or "stdin")')
    .option('--json', 'print the result as JSON, in the schema of the distributed results')
    .option('--quiet', 'no progress on stderr')
    .option('--restart', "discard this job's checkpoint and start over");
}

/** The engine flags shared by every command that loads a model. */
export function addEngineFlags(cmd: Command): Command {
  return cmd
    .option(
      '--vocab <file>',
      'World vocabulary file, "bytes", "20b" or a tokenizers .json (default: bytes for 256-id models, 20b for 50277-id models)',
    )
    .option('--weights <type>', 'weights in memory: f32, bf16, f16 or int8', 'f32')
    .option('--threads <n>', 'CPU threads (0: all)', '0')
    .option('--device <name>', 'cpu, cuda or auto', 'cpu');
}

/** Flags of the prompt: what the model is asked, and printing the prompt instead of running it. */
function addPromptFlags(cmd: Command): Command {
  return cmd
    .option('--instruction <text>', "chat formats: what the model is asked after the document (default: the task's)")
    .option('--system <text>', "rwkv7-g: a system turn before the user's")
    .option(
      '--show-prompt',
      'print exactly the text the model will read (and the section and reduce prompts) and exit',
    );
}

export function addSectionFlags(cmd: Command, kind: 'summarize' | 'classify'): Command {
  cmd
    .option('--sections <k>', 'also answer for each section of about K tokens, printed as it is made')
    .option(
      '--section-slack <n>',
      'a section may end up to N tokens before or after K to end at a natural boundary (default K/8, at most 4096)',
    )
    .option(
      '--section-boundaries <how>',
      'natural: end sections at headings, blank lines, lines or sentences (default); exact: every K tokens',
    )
    .option(
      '--final <from>',
      "the document's answer: sections (reduced from the sections), state (the final state), or both",
    )
    .option(
      '--section-template <text>',
      "text after each section, before its answer (default: the task's template, or the section instruction in a chat format)",
    )
    .option(
      '--section-instruction <text>',
      'chat formats: what each section is asked (default: summarize or classify its last part)',
    );
  if (kind === 'summarize') {
    cmd
      .option('--section-max-tokens <n>', 'most tokens to generate per section (default: --max-tokens)')
      .option('--reduce-fan-in <n>', 'section summaries combined per reduce step');
  }
  return cmd;
}

export function addSummarizeFlags(cmd: Command): Command {
  return addPromptFlags(cmd)
    .option('--think', 'rwkv7-g: let the model think before it answers (default: it answers at once)')
    .option(
      '--template <text>',
      'the exact text after the document, before the summary (default: "\\n\\nSummary:" in the raw format, else the instruction and the assistant\'s turn)',
    )
    .option('--max-tokens <n>', 'most tokens to generate (default 200)')
    .option('--stop <text>', 'stop sequence (repeatable; default "\\n\\n")', collect)
    .option('--temperature <t>', '0 is greedy and reproducible (default); above 0 samples')
    .option('--top-p <p>', 'nucleus sampling: keep the likeliest tokens up to this probability')
    .option('--top-k <k>', 'keep the k likeliest tokens (0: all)')
    .option('--presence-penalty <x>', 'penalty per token already generated')
    .option('--frequency-penalty <x>', 'penalty per occurrence of a generated token')
    .option('--seed <n>', 'sampler seed (temperature above 0)');
}

export function addClassifyFlags(cmd: Command): Command {
  return addPromptFlags(cmd)
    .requiredOption('--labels <list>', 'the labels, comma-separated (at least two)')
    .option(
      '--template <text>',
      'the exact text after the document, before a label (default: "\\n\\nCategory:" in the raw format, else "Answer with one of: …" and the assistant\'s turn)',
    )
    .option('--label-prefix <text>', 'put before each label (default: the format\'s, " " or a line break)')
    .option('--score <how>', "sum: a label's log-probability (default); mean: per token");
}
