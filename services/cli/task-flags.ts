// Task options as flags, over the configured defaults (config file, environment): what a flag leaves unset
// comes from `summary` / `classify` of the configuration, and the task schemas judge the result. A bad value
// is reported with the flag's name. Sections (`--sections K` and the flags that tune them) are one nested
// task field; they start from the configured `sections` of the task, if any. The flags themselves are
// defined in command-flags.ts.
import type { z } from 'zod';

import type { PromptFormat } from '../../schemas/prompt-formats.ts';
import type { ClassifyDefaults, SummaryDefaults } from '../../schemas/app-config.ts';
import { ClassifyTaskSchema, SummarizeTaskSchema, type ClassifyTask, type SummarizeTask } from '../../schemas/tasks.ts';
import { UsageError, numberFlag } from './output.ts';

/** Section flags of both tasks; the summarize-only ones are offered by summarize and submit. */
export interface SectionFlags {
  sections?: string;
  sectionSlack?: string;
  sectionBoundaries?: string;
  final?: string;
  sectionTemplate?: string;
  sectionInstruction?: string;
  sectionMaxTokens?: string;
  reduceFanIn?: string;
}

/** The prompt flags of both tasks (the format itself is a setting: --prompt-format, services/config). */
export interface PromptFlags {
  instruction?: string;
  system?: string;
  showPrompt?: boolean;
}

export interface SummarizeFlags extends SectionFlags, PromptFlags {
  think?: boolean;
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

export interface ClassifyFlags extends SectionFlags, PromptFlags {
  labels: string;
  template?: string;
  labelPrefix?: string;
  score?: string;
}

/** Task fields and the flags that set them, for messages. */
const FLAG_OF: Record<string, string> = {
  promptFormat: '--prompt-format',
  instruction: '--instruction',
  system: '--system',
  think: '--think',
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
  sections: '--sections',
  'sections.every': '--sections',
  'sections.slack': '--section-slack',
  'sections.boundaries': '--section-boundaries',
  'sections.final': '--final',
  'sections.template': '--section-template',
  'sections.instruction': '--section-instruction',
  'sections.maxTokens': '--section-max-tokens',
  'sections.reduce': '--reduce-fan-in',
  'sections.reduce.fanIn': '--reduce-fan-in',
  // Set only in the configuration.
  'sections.reduce.instruction': 'sections.reduce.instruction',
};

/** The flag that set a task field (the longest path that names one), for a schema issue at `path`. */
function flagOf(path: readonly PropertyKey[]): string {
  for (let n = path.length; n > 0; n--) {
    const flag = FLAG_OF[path.slice(0, n).map(String).join('.')];
    if (flag !== undefined) return flag;
  }
  return path.length > 0 ? path.map(String).join('.') : 'task';
}

function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** Parses a task built from flags; the first problem is reported with the flag that set the field. */
export function parseTaskFlags<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${flagOf(issue.path)}: ${issue.message}`);
  }
  return parsed.data;
}

/** An integer flag, or a usage error naming it (the schema then judges its range). */
function integerFlag(name: string, value: string | undefined): number | undefined {
  const n = numberFlag(name, value);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return n;
}

const SECTION_TUNING_FLAGS: ReadonlyArray<[keyof SectionFlags, string]> = [
  ['sectionSlack', '--section-slack'],
  ['sectionBoundaries', '--section-boundaries'],
  ['final', '--final'],
  ['sectionTemplate', '--section-template'],
  ['sectionInstruction', '--section-instruction'],
  ['sectionMaxTokens', '--section-max-tokens'],
  ['reduceFanIn', '--reduce-fan-in'],
];

/**
 * The task's `sections` from the flags over the configured ones (`configured`), or undefined for none. A flag
 * that tunes sections needs sections: `--sections K` here, or `sections` in the configuration.
 */
export function sectionsFromFlags(flags: SectionFlags, configured?: unknown): Record<string, unknown> | undefined {
  const base =
    configured !== null && typeof configured === 'object' ? (configured as Record<string, unknown>) : undefined;
  if (flags.sections === undefined && base === undefined) {
    const tuning = SECTION_TUNING_FLAGS.find(([field]) => flags[field] !== undefined);
    if (tuning) throw new UsageError(`${tuning[1]} needs --sections K (the target tokens per section)`);
    return undefined;
  }
  const fanIn = integerFlag('reduce-fan-in', flags.reduceFanIn);
  const baseReduce =
    base?.reduce !== null && typeof base?.reduce === 'object' ? (base.reduce as Record<string, unknown>) : undefined;
  const given = defined({
    every: integerFlag('sections', flags.sections),
    slack: integerFlag('section-slack', flags.sectionSlack),
    boundaries: flags.sectionBoundaries,
    final: flags.final,
    template: flags.sectionTemplate,
    instruction: flags.sectionInstruction,
    maxTokens: integerFlag('section-max-tokens', flags.sectionMaxTokens),
    reduce: fanIn === undefined ? undefined : { ...baseReduce, fanIn },
  });
  return { ...base, ...given };
}

/** A chat format's template is rendered from the instruction: giving both is a contradiction. */
function checkTemplate(flags: { template?: string; instruction?: string }): void {
  if (flags.template !== undefined && flags.instruction !== undefined) {
    throw new UsageError(
      '--template and --instruction both say what follows the document; give one (--template: raw, --instruction: chat formats)',
    );
  }
}

export function summarizeTask(
  flags: SummarizeFlags,
  defaults: SummaryDefaults,
  promptFormat: PromptFormat,
): SummarizeTask {
  checkTemplate(flags);
  const given = defined({
    instruction: flags.instruction,
    system: flags.system,
    think: flags.think,
    template: flags.template,
    maxTokens: numberFlag('max-tokens', flags.maxTokens),
    temperature: numberFlag('temperature', flags.temperature),
    topP: numberFlag('top-p', flags.topP),
    topK: numberFlag('top-k', flags.topK),
    presencePenalty: numberFlag('presence-penalty', flags.presencePenalty),
    frequencyPenalty: numberFlag('frequency-penalty', flags.frequencyPenalty),
    seed: numberFlag('seed', flags.seed),
    stop: flags.stop,
    sections: sectionsFromFlags(flags, (defaults as { sections?: unknown }).sections),
  });
  return parseTaskFlags(SummarizeTaskSchema, { ...defaults, ...given, promptFormat, kind: 'summarize' });
}

export function classifyTask(
  flags: ClassifyFlags,
  defaults: ClassifyDefaults,
  promptFormat: PromptFormat,
): ClassifyTask {
  checkTemplate(flags);
  const labels = flags.labels
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label.length > 0);
  const given = defined({
    instruction: flags.instruction,
    system: flags.system,
    template: flags.template,
    labelPrefix: flags.labelPrefix,
    score: flags.score,
    sections: sectionsFromFlags(flags, (defaults as { sections?: unknown }).sections),
  });
  return parseTaskFlags(ClassifyTaskSchema, { ...defaults, ...given, labels, promptFormat, kind: 'classify' });
}
