// `--show-prompt`: what the model would read for this document and task, printed instead of running it — no
// model is loaded and no checkpoint written. Without sections, stdout is exactly that text: the prefix, the
// document (folded as the prompt format requires), the instruction and the assistant's turn. With sections,
// it is the document as read, then the text each section's fork reads at its end, the final state's prompt
// when the task answers from it, and the reduce step's prompt with its entries as placeholders.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

import { TurnFolder, documentPrefix, type PromptFormat } from '../../schemas/prompt-formats.ts';
import type { AppConfig } from '../../schemas/app-config.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import { loadConfig, type ConfigFlags } from '../config/index.ts';
import { choosePromptFormat, type FormatChoice } from '../models/index.ts';
import { print } from './embedded-command.ts';

/** The document as it is read: the prefix, then its bytes folded for a chat format (as they stream). */
async function printDocument(input: Readable, task: DocumentTask): Promise<void> {
  const folder = task.promptFormat === 'raw' ? null : new TurnFolder();
  await print(documentPrefix(task.promptFormat, task.system));
  const decoder = new TextDecoder('utf-8');
  for await (const piece of input as AsyncIterable<Buffer>) {
    const text = decoder.decode(folder ? folder.push(piece) : piece, { stream: true });
    if (text.length > 0) await print(text);
  }
  folder?.end();
  const rest = decoder.decode();
  if (rest.length > 0) await print(rest);
}

const heading = (what: string): string => `\n\n----- ${what} -----\n`;

/** The configuration and the format as a run would have them, the task from the flags, then the prompt. */
export async function runShowPrompt(
  file: string,
  flags: ConfigFlags & { quiet?: boolean },
  taskOf: (config: AppConfig, format: PromptFormat) => DocumentTask,
): Promise<void> {
  const loaded = await loadConfig({ flags });
  const format = await choosePromptFormat(loaded.config, loaded.origin);
  await showPrompt(file, taskOf(loaded.config, format.format), format, flags.quiet === true);
}

export async function showPrompt(
  file: string,
  task: DocumentTask,
  format: FormatChoice,
  quiet: boolean,
): Promise<void> {
  if (!quiet) process.stderr.write(`prompt format: ${format.format} (from ${format.reason})\n`);
  const input = file === '-' ? process.stdin : createReadStream(file);
  const sections = task.sections;
  if (!sections) {
    await printDocument(input, task);
    await print(task.template);
    return;
  }
  await print(heading('the document, as read (sections are answered on copies of the state along it)').trimStart());
  await printDocument(input, task);
  await print(`${heading('at the end of each section')}${sections.template}`);
  if (sections.final !== 'sections')
    await print(`${heading('at the end of the document (the final state)')}${task.template}`);
  if (task.kind === 'summarize' && sections.final !== 'state') {
    const reduce = task.sections!.reduce;
    const entry = (n: number) =>
      reduce.entry.replace(/\{(n|text)\}/g, (_, name: string) =>
        name === 'n' ? String(n) : `{summary of section ${n}}`,
      );
    await print(
      `${heading(`the reduce step, in a fresh state per group of up to ${reduce.fanIn} summaries`)}${reduce.prompt}${entry(1)}${entry(2)}…\n${reduce.template}`,
    );
  }
  await print('\n');
}
