// What a document asks for. Every option has a default, so a parsed task is complete and a stored task replays
// the same way on any worker (part of what makes results reproducible).
import { z } from 'zod';

import {
  DEFAULT_INSTRUCTIONS,
  PROMPT_FORMATS,
  answerSuffix,
  assistantTurn,
  classifyInstruction,
  documentPrefix,
  foldTurnText,
  promptProfile,
  type PromptFormat,
} from './prompt-formats.ts';

/**
 * Text appended after the document. The document itself is already in the state, so there is no {document}.
 * Never empty: the logits at its last token predict the first token of the answer. Chat formats render it from
 * the instruction and the assistant's turn unless it is given.
 */
const TemplateSchema = z.string().min(1, 'a template is not empty').max(4096, 'a template has at most 4096 characters');

/** How the request is written for the model's family (schemas/prompt-formats.ts); raw: plain completion. */
export const PromptFormatSchema = z.enum(PROMPT_FORMATS);

/** What the model is asked to do, in a chat format's user turn (after the document). */
const InstructionSchema = z
  .string()
  .min(1, 'an instruction is not empty')
  .max(4096, 'an instruction has at most 4096 characters');

/** The fields every document task has for its prompt. */
const PromptFields = {
  promptFormat: PromptFormatSchema.default('raw'),
  /** A system turn before the user's (formats that document one: rwkv7-g). */
  system: z
    .string()
    .min(1, 'a system prompt is not empty')
    .max(4096, 'a system prompt has at most 4096 characters')
    .optional(),
  instruction: InstructionSchema.optional(),
};

const MAX_SLACK = 65_536;

/** Sections: K tokens apart, each answered on a fork of the state (see pipelines/sections.ts). */
const SectionFields = {
  /** K: target tokens per section. */
  every: z
    .number()
    .int()
    .min(16, 'sections.every is at least 16 tokens')
    .max(16_777_216, 'sections.every is at most 16,777,216 tokens'),
  /**
   * How far from each K mark a boundary may move to land on a natural break; default min(floor(every / 8), 4096),
   * below every / 2. Capped because every chunk that overlaps a boundary's window reads the whole window to find it.
   */
  slack: z
    .number()
    .int()
    .min(0, 'sections.slack is a number of tokens (0 or more)')
    .max(MAX_SLACK, `sections.slack is at most ${MAX_SLACK} tokens`)
    .optional(),
  /** natural: the best break (heading, blank line, line, sentence) within the slack; exact: at multiples of K. */
  boundaries: z.enum(['natural', 'exact']).default('natural'),
  /** The document's answer: the reduce over the sections, the final state (sections still emitted), or both. */
  final: z.enum(['sections', 'state', 'both']).default('sections'),
  /** Appended to each section's fork; default: the task's template (raw), else rendered from the section instruction. */
  template: TemplateSchema.optional(),
  /** Chat formats: what each section's fork is asked. */
  instruction: InstructionSchema.optional(),
};

/** Slack below every / 2 keeps boundaries strictly increasing when each is chosen on its own. */
function refineSlack(sections: { every: number; slack?: number | undefined }, ctx: z.RefinementCtx): void {
  if (sections.slack !== undefined && sections.slack * 2 >= sections.every) {
    ctx.addIssue({
      code: 'custom',
      path: ['slack'],
      message:
        `sections.slack must be less than half of sections.every (${sections.every}): expected at most ` +
        `${Math.ceil(sections.every / 2) - 1}, got ${sections.slack}`,
    });
  }
}

const defaultSlack = (every: number) => Math.min(Math.floor(every / 8), 4096);

export const DEFAULT_REDUCE_PROMPT = 'Summaries of consecutive sections of one document:\n\n';
export const DEFAULT_REDUCE_ENTRY = 'Section {n}: {text}\n';
export const DEFAULT_REDUCE_TEMPLATE = '\n\nSummary of the whole document:';

/** How section summaries become the document's summary: groups of fanIn, level after level. */
const ReduceSchema = z.strictObject({
  fanIn: z
    .number()
    .int()
    .min(2, 'sections.reduce.fanIn is at least 2')
    .max(1024, 'sections.reduce.fanIn is at most 1024')
    .default(32),
  /** Put before the group's entries in a fresh state; default: DEFAULT_REDUCE_PROMPT (raw), else the user's turn. */
  prompt: z.string().max(4096, 'sections.reduce.prompt has at most 4096 characters').optional(),
  /** One per summary of the group: {n} is its 1-based position in the group, {text} the summary. */
  entry: z
    .string()
    .max(4096, 'sections.reduce.entry has at most 4096 characters')
    .refine((entry) => entry.includes('{text}'), 'sections.reduce.entry must contain {text} (where each summary goes)')
    .default(DEFAULT_REDUCE_ENTRY),
  /** Appended after the entries; the reduced summary is generated after it. Chat formats: rendered from the instruction. */
  template: TemplateSchema.optional(),
  /** Chat formats: what the group's summaries are followed by. */
  instruction: InstructionSchema.optional(),
});

const SummarizeSectionsInputSchema = z
  .strictObject({
    ...SectionFields,
    /** Tokens generated per section summary; default: the task's maxTokens. */
    maxTokens: z.number().int().min(1).max(4096).optional(),
    reduce: ReduceSchema.prefault({}),
  })
  .superRefine(refineSlack);

const ClassifySectionsInputSchema = z.strictObject(SectionFields).superRefine(refineSlack);

export const SummarizeTaskFieldsSchema = z.strictObject({
  kind: z.literal('summarize'),
  ...PromptFields,
  /** rwkv7-g: let the model think first (`Assistant: <think`); otherwise it answers at once (the fake think block). */
  think: z.boolean().default(false),
  template: TemplateSchema.optional(),
  maxTokens: z.number().int().min(1).max(4096).default(200),
  /** Generation ends before the first occurrence of any of these (they are not part of the output); default: the format's. */
  stop: z.array(z.string().min(1).max(64)).max(16).optional(),
  /** 0 is greedy (argmax): reproducible and the default. Above 0: official RWKV sampling (p^(1/T)). */
  temperature: z.number().min(0).max(5).default(0),
  topP: z.number().gt(0).max(1).default(1),
  /** 0 keeps every token. */
  topK: z.number().int().min(0).default(0),
  presencePenalty: z.number().min(-10).max(10).default(0),
  frequencyPenalty: z.number().min(-10).max(10).default(0),
  /** Each generated token multiplies every occurrence count by this (official default 0.996). */
  penaltyDecay: z.number().gt(0).max(1).default(0.996),
  /** Seed of the sampler when temperature > 0: the same seed gives the same summary. */
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  sections: SummarizeSectionsInputSchema.optional(),
});

export const DEFAULT_SUMMARY_TEMPLATE = '\n\nSummary:';
export const DEFAULT_CATEGORY_TEMPLATE = '\n\nCategory:';

/**
 * The object with its keys in the order of `shape` (then any others): a task filled in on its first parse and the
 * same task parsed again from storage serialize to the same JSON, which identifies a job and a duplicate.
 */
function inShapeOrder<T extends object>(value: T, shape: object): T {
  const order = Object.keys(shape);
  const keys = Object.keys(value).sort((a, b) => rank(order, a) - rank(order, b));
  return Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]])) as T;
}

const rank = (order: string[], key: string): number => {
  const at = order.indexOf(key);
  return at < 0 ? order.length : at;
};

/** The prompt options a format can take: a system turn and think mode only where the family documents them. */
interface PromptOptions {
  promptFormat: PromptFormat;
  system?: string | undefined;
  instruction?: string | undefined;
  think?: boolean;
  sections?: { instruction?: string | undefined; reduce?: { instruction?: string | undefined } } | undefined;
}

function refinePrompt(task: PromptOptions, ctx: z.RefinementCtx): void {
  const profile = promptProfile(task.promptFormat);
  if (task.promptFormat === 'raw') {
    const given: [string[], string | undefined][] = [
      [['instruction'], task.instruction],
      [['sections', 'instruction'], task.sections?.instruction],
      [['sections', 'reduce', 'instruction'], task.sections?.reduce?.instruction],
    ];
    for (const [path, value] of given) {
      if (value === undefined) continue;
      ctx.addIssue({
        code: 'custom',
        path,
        message:
          'the raw prompt format has no instruction (it reads the template after the document); choose a chat format',
      });
    }
  }
  if (task.system !== undefined && !profile.system) {
    ctx.addIssue({
      code: 'custom',
      path: ['system'],
      message: `the ${task.promptFormat} prompt format has no system turn (only rwkv7-g does)`,
    });
  }
  if (task.think === true && !profile.think) {
    ctx.addIssue({
      code: 'custom',
      path: ['think'],
      message: `the ${task.promptFormat} prompt format has no think mode (only rwkv7-g does)`,
    });
  }
}

/** The reduce prompts: given ones as they are, else the raw defaults or the chat format's turns. */
function fillReduce(
  reduce: z.output<typeof ReduceSchema>,
  task: { promptFormat: PromptFormat; system?: string | undefined; think: boolean },
): ReduceSettings {
  const { instruction, ...rest } = reduce;
  if (task.promptFormat === 'raw') {
    return inShapeOrder(
      { ...rest, prompt: reduce.prompt ?? DEFAULT_REDUCE_PROMPT, template: reduce.template ?? DEFAULT_REDUCE_TEMPLATE },
      ReduceSchema.shape,
    );
  }
  const asked = instruction ?? DEFAULT_INSTRUCTIONS.reduce;
  return inShapeOrder(
    {
      ...rest,
      // Entries end with a line break, so the instruction follows them on its own line.
      prompt: reduce.prompt ?? `${documentPrefix(task.promptFormat, task.system)}${DEFAULT_INSTRUCTIONS.reduceIntro}\n`,
      template: reduce.template ?? `${foldTurnText(asked)}${assistantTurn(task.promptFormat, task.think)}`,
      instruction: asked,
    },
    ReduceSchema.shape,
  );
}

/**
 * The summarize task with every default filled in: the template and stop rules of its prompt format, and the
 * section options that depend on the task's own fields. Filling is idempotent (a stored task parses to itself).
 */
export const SummarizeTaskSchema = SummarizeTaskFieldsSchema.superRefine(refinePrompt).transform(
  ({ sections, ...fields }) => {
    const raw = fields.promptFormat === 'raw';
    const instruction = raw ? undefined : (fields.instruction ?? DEFAULT_INSTRUCTIONS.summarize);
    const task = inShapeOrder(
      {
        ...fields,
        ...(instruction === undefined ? {} : { instruction }),
        template:
          fields.template ??
          (raw ? DEFAULT_SUMMARY_TEMPLATE : answerSuffix(fields.promptFormat, instruction!, fields.think)),
        stop: fields.stop ?? [...promptProfile(fields.promptFormat).stop],
      },
      SummarizeTaskFieldsSchema.shape,
    );
    if (!sections) return withSections(task, undefined);
    const sectionInstruction = raw ? undefined : (sections.instruction ?? DEFAULT_INSTRUCTIONS.section);
    const filled: SummarizeSections = {
      every: sections.every,
      slack: sections.slack ?? defaultSlack(sections.every),
      boundaries: sections.boundaries,
      final: sections.final,
      template:
        sections.template ??
        (raw ? task.template : answerSuffix(fields.promptFormat, sectionInstruction!, fields.think)),
      ...(sectionInstruction === undefined ? {} : { instruction: sectionInstruction }),
      maxTokens: sections.maxTokens ?? task.maxTokens,
      reduce: fillReduce(sections.reduce, fields),
    };
    return withSections(task, filled);
  },
);

export const ClassifyTaskFieldsSchema = z.strictObject({
  kind: z.literal('classify'),
  labels: z
    .array(z.string().min(1).max(200))
    .min(2, 'classify needs at least two labels')
    .max(64)
    .refine((labels) => new Set(labels).size === labels.length, 'labels must be distinct'),
  ...PromptFields,
  template: TemplateSchema.optional(),
  /** Put before each label's text, so " sports" is scored after "Category:"; default: the format's. */
  labelPrefix: z.string().max(16).optional(),
  /** sum: the label's log-probability; mean: per token (does not favour short labels). */
  score: z.enum(['sum', 'mean']).default('sum'),
  sections: ClassifySectionsInputSchema.optional(),
});

/** The classify task with every default filled in: the labels are scored as the answer of its prompt format. */
export const ClassifyTaskSchema = ClassifyTaskFieldsSchema.superRefine(refinePrompt).transform(
  ({ sections, ...fields }) => {
    const raw = fields.promptFormat === 'raw';
    const instruction = raw ? undefined : (fields.instruction ?? classifyInstruction(fields.labels));
    const task = inShapeOrder(
      {
        ...fields,
        ...(instruction === undefined ? {} : { instruction }),
        template:
          fields.template ?? (raw ? DEFAULT_CATEGORY_TEMPLATE : answerSuffix(fields.promptFormat, instruction!, false)),
        labelPrefix: fields.labelPrefix ?? promptProfile(fields.promptFormat).labelPrefix,
      },
      ClassifyTaskFieldsSchema.shape,
    );
    if (!sections) return withSections(task, undefined);
    const filled: SectionSettings = {
      every: sections.every,
      slack: sections.slack ?? defaultSlack(sections.every),
      boundaries: sections.boundaries,
      final: sections.final,
      // Chat formats: each section is asked the task's question unless it has its own instruction.
      template:
        sections.template ??
        (raw || sections.instruction === undefined
          ? task.template
          : answerSuffix(fields.promptFormat, sections.instruction, false)),
      ...(sections.instruction === undefined ? {} : { instruction: sections.instruction }),
    };
    return withSections(task, filled);
  },
);

export const DocumentTaskSchema = z.discriminatedUnion('kind', [SummarizeTaskSchema, ClassifyTaskSchema]);

/** Anomaly scoring of event streams: set per deployment (streams are endless; events carry no options). */
export const AnomalySettingsSchema = z.strictObject({
  /**
   * When an event is an alert. "auto": its surprise is above the stream's own running (1 - alertRate) quantile,
   * once warmupEvents events have been seen (see pipelines/thresholds.ts); a number: above this many nats per
   * token (mean negative log-probability), whatever the stream's history.
   */
  threshold: z
    .union([z.literal('auto'), z.number().positive()], {
      error: 'expected "auto" or a positive number of nats per token',
    })
    .default('auto'),
  /** threshold "auto": the fraction of a stream's events that are alerts, in the long run. */
  alertRate: z.number().gt(0, 'alertRate is above 0').max(0.5, 'alertRate is at most 0.5').default(0.01),
  /** threshold "auto": events a stream must have had before any of its events can be an alert. */
  warmupEvents: z.number().int().min(1).max(1_000_000).default(100),
  /** Characters of an event's text its score carries (longer text is cut, and marked so); 0: none. */
  eventText: z.number().int().min(0).max(65_536).default(256),
  /** Fed before every event, so the model reads the stream like a log file; its logits predict the event's first token. */
  separator: z.string().min(1).max(16).default('\n'),
  /** A batch is run when this many events wait ... */
  batchEvents: z.number().int().min(1).max(10_000).default(64),
  /** ... or when the oldest waiting event is this old. */
  batchMs: z.number().int().min(0).max(3_600_000).default(1000),
  /** Upper bound on positions per forward call with all logits (memory: positions × vocabulary floats). */
  maxLogitsTokens: z.number().int().min(1).max(65_536).default(256),
  /** Events per summary window, by sequence number (window w: seq w·N+1 .. (w+1)·N); 0: no windows. */
  windowEvents: z.number().int().min(0).max(1_000_000).default(0),
  /** How many of a window's most surprising events its summary lists. */
  topEvents: z.number().int().min(0).max(100).default(5),
});

export type SummarizeTask = z.infer<typeof SummarizeTaskSchema>;
export type ClassifyTask = z.infer<typeof ClassifyTaskSchema>;
export type DocumentTask = z.infer<typeof DocumentTaskSchema>;
export type DocumentTaskInput = z.input<typeof DocumentTaskSchema>;
/** The reduce options of a parsed task: the prompts filled in for its format. */
export interface ReduceSettings {
  fanIn: number;
  prompt: string;
  entry: string;
  template: string;
  instruction?: string;
}

/** The section options of a parsed task: all filled in. */
export interface SectionSettings {
  every: number;
  slack: number;
  boundaries: 'natural' | 'exact';
  final: 'sections' | 'state' | 'both';
  template: string;
  /** Chat formats: the instruction the template was rendered from. */
  instruction?: string;
}

export interface SummarizeSections extends SectionSettings {
  maxTokens: number;
  reduce: ReduceSettings;
}

/** A task without sections keeps no `sections` key, so it parses (and serializes) exactly as before sections existed. */
function withSections<T extends object, S>(task: T, sections: S | undefined): T & { sections?: S } {
  return sections === undefined ? task : { ...task, sections };
}
export type AnomalySettings = z.infer<typeof AnomalySettingsSchema>;
