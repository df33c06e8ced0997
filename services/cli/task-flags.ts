// Task options as flags, over the configured defaults (config file, environment): what a flag leaves unset
// comes from `summary` / `classify` of the configuration, and the task schemas judge the result. A bad value
// is reported with the flag's name.
import type { Command } from 'commander';
import type { z } from 'zod';

import type { ClassifyDefaults, SummaryDefaults } from '../../schemas/app-config.ts';
import { ClassifyTaskSchema, SummarizeTaskSchema, type ClassifyTask, type SummarizeTask } from '../../schemas/tasks.ts';
import { UsageError } from './output.ts';
import { numberFlag } from './pipeline-options.ts';

export interface SummarizeFlags {
  template?: string;
  maxTokens?: string;
  stop?: string[];
  temperature?: string;
  topP?: string;
  topK?: string;
  presencePenalty?: string;
  frequencyPenalty?: string;
  seed?: string;
}

export interface ClassifyFlags {
  labels: string;
  template?: string;
  labelPrefix?: string;
  score?: string;
}

/** Task fields and the flags that set them, for messages. */
const FLAG_OF: Record<string, string> = {
  template: '--template',
  maxTokens: '--max-tokens',
  stop: '--stop',
  temperature: '--temperature',
  topP: '--top-p',
  topK: '--top-k',
  presencePenalty: '--presence-penalty',
  frequencyPenalty: '--frequency-penalty',
  seed: '--seed',
  labels: '--labels',
  labelPrefix: '--label-prefix',
  score: '--score',
};

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

function parseTask<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    throw new UsageError(`${FLAG_OF[field] ?? (field || 'task')}: ${issue.message}`);
  }
  return parsed.data;
}

export function addSummarizeFlags(cmd: Command): Command {
  return cmd
    .option('--template <text>', 'text after the document, before the summary (default "\\n\\nSummary:")')
    .option('--max-tokens <n>', 'most tokens to generate (default 200)')
    .option('--stop <text>', 'stop sequence (repeatable; default "\\n\\n")', collect)
    .option('--temperature <t>', '0 is greedy and reproducible (default); above 0 samples')
    .option('--top-p <p>', 'nucleus sampling: keep the likeliest tokens up to this probability')
    .option('--top-k <k>', 'keep the k likeliest tokens (0: all)')
    .option('--presence-penalty <x>', 'penalty per token already generated')
    .option('--frequency-penalty <x>', 'penalty per occurrence of a generated token')
    .option('--seed <n>', 'sampler seed (temperature above 0)');
}

export function summarizeTask(flags: SummarizeFlags, defaults: SummaryDefaults): SummarizeTask {
  const given = defined({
    template: flags.template,
    maxTokens: numberFlag('max-tokens', flags.maxTokens),
    temperature: numberFlag('temperature', flags.temperature),
    topP: numberFlag('top-p', flags.topP),
    topK: numberFlag('top-k', flags.topK),
    presencePenalty: numberFlag('presence-penalty', flags.presencePenalty),
    frequencyPenalty: numberFlag('frequency-penalty', flags.frequencyPenalty),
    seed: numberFlag('seed', flags.seed),
    stop: flags.stop,
  });
  return parseTask(SummarizeTaskSchema, { ...defaults, ...given, kind: 'summarize' });
}

export function addClassifyFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--labels <list>', 'the labels, comma-separated (at least two)')
    .option('--template <text>', 'text after the document, before a label (default "\\n\\nCategory:")')
    .option('--label-prefix <text>', 'put before each label (default " ")')
    .option('--score <how>', 'sum: a label\'s log-probability (default); mean: per token');
}

export function classifyTask(flags: ClassifyFlags, defaults: ClassifyDefaults): ClassifyTask {
  const labels = flags.labels.split(',').map((label) => label.trim()).filter((label) => label.length > 0);
  const given = defined({ template: flags.template, labelPrefix: flags.labelPrefix, score: flags.score });
  return parseTask(ClassifyTaskSchema, { ...defaults, ...given, labels, kind: 'classify' });
}
