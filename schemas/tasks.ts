// What a document asks for. Every option has a default, so a parsed task is complete and a stored task replays
// the same way on any worker (part of what makes results reproducible).
import { z } from 'zod';

/**
 * Text appended after the document. The document itself is already in the state, so there is no {document}.
 * Never empty: the logits at its last token predict the first token of the answer.
 */
const TemplateSchema = z.string().min(1, 'a template is not empty').max(4096, 'a template has at most 4096 characters');

export const SummarizeTaskSchema = z.strictObject({
  kind: z.literal('summarize'),
  template: TemplateSchema.default('\n\nSummary:'),
  maxTokens: z.number().int().min(1).max(4096).default(200),
  /** Generation ends before the first occurrence of any of these (they are not part of the output). */
  stop: z.array(z.string().min(1).max(64)).max(16).default(['\n\n']),
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
});

export const ClassifyTaskSchema = z.strictObject({
  kind: z.literal('classify'),
  labels: z
    .array(z.string().min(1).max(200))
    .min(2, 'classify needs at least two labels')
    .max(64)
    .refine((labels) => new Set(labels).size === labels.length, 'labels must be distinct'),
  template: TemplateSchema.default('\n\nCategory:'),
  /** Put before each label's text, so " sports" is scored after "Category:". */
  labelPrefix: z.string().max(16).default(' '),
  /** sum: the label's log-probability; mean: per token (does not favour short labels). */
  score: z.enum(['sum', 'mean']).default('sum'),
});

export const DocumentTaskSchema = z.discriminatedUnion('kind', [SummarizeTaskSchema, ClassifyTaskSchema]);

/** Anomaly scoring of event streams: set per deployment (streams are endless; events carry no options). */
export const AnomalySettingsSchema = z.strictObject({
  /** Mean negative log-probability (nats per token) above which an event is an alert. */
  threshold: z.number().positive().default(4),
  /** Fed before every event, so the model reads the stream like a log file; its logits predict the event's first token. */
  separator: z.string().min(1).max(16).default('\n'),
  /** A batch is run when this many events wait ... */
  batchEvents: z.number().int().min(1).max(10_000).default(64),
  /** ... or when the oldest waiting event is this old. */
  batchMs: z.number().int().min(0).max(3_600_000).default(1000),
  /** Upper bound on positions per forward call with all logits (memory: positions × vocabulary floats). */
  maxLogitsTokens: z.number().int().min(1).max(65_536).default(256),
});

export type SummarizeTask = z.infer<typeof SummarizeTaskSchema>;
export type ClassifyTask = z.infer<typeof ClassifyTaskSchema>;
export type DocumentTask = z.infer<typeof DocumentTaskSchema>;
export type DocumentTaskInput = z.input<typeof DocumentTaskSchema>;
export type AnomalySettings = z.infer<typeof AnomalySettingsSchema>;
