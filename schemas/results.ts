// rwkvstream.results: what comes out. Every result names its document or stream, the task, the model and
// tokenizer that produced it (fingerprints) and how many tokens were read. Results hold no timestamps: an
// interrupted and resumed run emits exactly the bytes an uninterrupted one does (the Kafka record has its time).
import { z } from 'zod';

import { PROMPT_FORMATS } from './prompt-formats.ts';
import { DocumentIdSchema, StreamIdSchema } from './ids.ts';

export const RESULT_SCHEMA_V1 = 'rwkvstream.result.v1';

export const ProvenanceSchema = z.strictObject({
  model: z.strictObject({ version: z.string(), fingerprint: z.string() }),
  tokenizer: z.strictObject({ kind: z.string(), fingerprint: z.string() }),
});

export const SummaryOutputSchema = z.strictObject({
  text: z.string(),
  /** Tokens generated, counting the ones cut off with a stop sequence. */
  generatedTokens: z.number().int().nonnegative(),
  stopReason: z.enum(['stop', 'end_of_text', 'max_tokens']),
});

export const LabelScoreSchema = z.strictObject({
  label: z.string(),
  /** log p(label continuation | document, template), summed over its tokens (natural log). */
  logprob: z.number(),
  tokens: z.number().int().positive(),
  /** The label's share of the distribution over the labels (softmax of the chosen score). */
  probability: z.number().min(0).max(1),
});

export const ClassificationOutputSchema = z.strictObject({
  score: z.enum(['sum', 'mean']),
  labels: z.array(LabelScoreSchema),
  best: z.string(),
});

const DocumentResultBase = {
  schema: z.literal(RESULT_SCHEMA_V1),
  kind: z.literal('document'),
  id: DocumentIdSchema,
  ...ProvenanceSchema.shape,
  /** Tokens read before the task: the document and a chat format's turn prefix (the template and generated tokens not included). */
  tokens: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  chunkTokens: z.number().int().positive(),
  /** How the request was written for the model (schemas/prompt-formats.ts); absent: raw, plain completion. */
  promptFormat: z.enum(PROMPT_FORMATS).optional(),
};

/** Where a section ends: the natural break chosen near its K mark, the mark itself, or the document's end. */
export const BoundaryKindSchema = z.enum(['heading', 'blank-line', 'line', 'sentence', 'exact', 'end']);

/** How a document with sections was covered (only in results of tasks with sections). */
const CoverageBase = {
  every: z.number().int().positive(),
  slack: z.number().int().nonnegative(),
  boundaries: z.enum(['natural', 'exact']),
  /** How many sections the document has. */
  sections: z.number().int().positive(),
  final: z.enum(['sections', 'state', 'both']),
  /** The template appended to each section's fork. */
  template: z.string(),
};

export const SummarizeCoverageSchema = z.strictObject({
  ...CoverageBase,
  /** Tokens generated per section summary at most. */
  maxTokens: z.number().int().positive(),
  reduce: z.strictObject({
    fanIn: z.number().int().min(2),
    /** Reduce rounds that ran (0 when the answer is the final state's). */
    levels: z.number().int().nonnegative(),
    prompt: z.string(),
    entry: z.string(),
    template: z.string(),
  }),
});

export const ClassifyCoverageSchema = z.strictObject(CoverageBase);

export const SummarizeResultSchema = z.strictObject({
  ...DocumentResultBase,
  task: z.literal('summarize'),
  /** The document's answer: the reduce over the sections, or the final state's summary (final: 'state'). */
  summary: SummaryOutputSchema,
  /** With final: 'both', the summary generated from the final state. */
  stateSummary: SummaryOutputSchema.optional(),
  coverage: SummarizeCoverageSchema.optional(),
});

export const ClassifyResultSchema = z.strictObject({
  ...DocumentResultBase,
  task: z.literal('classify'),
  /** The document's answer: the sections' token-weighted aggregate, or the final state's (final: 'state'). */
  classification: ClassificationOutputSchema,
  /** With final: 'both', the classification of the final state. */
  stateClassification: ClassificationOutputSchema.optional(),
  coverage: ClassifyCoverageSchema.optional(),
});

/** One section of a document, answered on a fork of the state at the section's end (a partial result). */
const SectionResultBase = {
  schema: z.literal(RESULT_SCHEMA_V1),
  kind: z.literal('section'),
  id: DocumentIdSchema,
  ...ProvenanceSchema.shape,
  /** 0-based index of the section. */
  section: z.number().int().nonnegative(),
  /** How many sections the document has. */
  sections: z.number().int().positive(),
  /** Token range [start, end) of the document. */
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
  boundary: BoundaryKindSchema,
  template: z.string(),
};

export const SectionResultSchema = z.discriminatedUnion('task', [
  z.strictObject({ ...SectionResultBase, task: z.literal('summarize'), summary: SummaryOutputSchema }),
  z.strictObject({ ...SectionResultBase, task: z.literal('classify'), classification: ClassificationOutputSchema }),
]);

export const EventScoreSchema = z.strictObject({
  seq: z.number().int().positive(),
  id: z.string().optional(),
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  tokens: z.number().int().nonnegative(),
  /** Mean negative log-probability of the event's tokens given the stream so far (nats per token). */
  surprise: z.number(),
  alert: z.boolean(),
  /** Adaptive threshold: the stream's threshold the event was compared with (absent while the stream warms up). */
  threshold: z.number().optional(),
  /** The event's text, cut at the configured length (anomaly.eventText; absent when that is 0). */
  text: z.string().optional(),
  /** Present (true) when `text` was cut. */
  textCut: z.literal(true).optional(),
});

/**
 * An adaptive threshold's history (see pipelines/thresholds.ts): events seen, and the non-empty bins of the
 * histogram of their surprises as [bin, weighted count], in bin order.
 */
export const ThresholdStateSchema = z.strictObject({
  seen: z.number().int().nonnegative(),
  bins: z
    .array(z.tuple([z.number().int().min(0).max(8191), z.number().int().positive()]))
    .max(8192)
    .refine(
      (bins) => bins.every(([bin], i) => i === 0 || bin > bins[i - 1]![0]),
      'bins are in increasing order, each once',
    ),
});

/** One of a window's most surprising events. */
export const WindowTopEventSchema = z.strictObject({
  seq: z.number().int().positive(),
  id: z.string().optional(),
  surprise: z.number(),
});

/**
 * A window of an event stream: the events with seq in window·windowEvents+1 .. (window+1)·windowEvents that
 * were scored while windows were on (firstSeq, lastSeq and events say which).
 */
export const WindowSummarySchema = z.strictObject({
  window: z.number().int().nonnegative(),
  windowEvents: z.number().int().positive(),
  firstSeq: z.number().int().positive(),
  lastSeq: z.number().int().positive(),
  events: z.number().int().positive(),
  tokens: z.number().int().nonnegative(),
  alerts: z.number().int().nonnegative(),
  /** Sum of the events' surprises, added in seq order: what the mean is computed from and a window carried on. */
  surpriseSum: z.number(),
  /** Per-event mean: surpriseSum / events (each event counts once, whatever its length; nats per token). */
  meanEventSurprise: z.number(),
  maxSurprise: z.number(),
  /** The most surprising events, most surprising first, ties by seq. */
  top: z.array(WindowTopEventSchema),
});

export const AnomalyResultSchema = z.strictObject({
  schema: z.literal(RESULT_SCHEMA_V1),
  kind: z.literal('stream'),
  id: StreamIdSchema,
  task: z.literal('anomaly'),
  ...ProvenanceSchema.shape,
  /** Index of this batch in the stream (0, 1, ...). */
  batch: z.number().int().nonnegative(),
  /** Tokens the stream's state has read, this batch included. */
  tokens: z.number().int().nonnegative(),
  /** The threshold in force after this batch: the fixed one, or the stream's adaptive one (null: warming up). */
  threshold: z.number().nullable(),
  events: z.array(EventScoreSchema),
  alerts: z.number().int().nonnegative(),
  /** Only with windows on: the windows this batch closed (in order; possibly none). */
  windows: z.array(WindowSummarySchema).optional(),
  /** Only with windows on: the window still open after this batch, so far (null: the batch closed the last one). */
  openWindow: WindowSummarySchema.nullable().optional(),
  /**
   * Only with the adaptive threshold, and only in the stream's checkpoint (published results leave it out): the
   * stream's history after this batch, which the next batch continues.
   */
  thresholdState: ThresholdStateSchema.optional(),
});

export const DocumentResultSchema = z.discriminatedUnion('task', [SummarizeResultSchema, ClassifyResultSchema]);
export const ResultSchema = z.union([DocumentResultSchema, SectionResultSchema, AnomalyResultSchema]);

/** Kept under a document's result key when it failed for good, so `rwkvstream result` can say why. */
export const FailureRecordSchema = z.strictObject({
  schema: z.literal('rwkvstream.failure.v1'),
  kind: z.literal('failure'),
  id: z.string(),
  stage: z.string(),
  code: z.string(),
  message: z.string(),
});

export type Provenance = z.infer<typeof ProvenanceSchema>;
export type SummaryOutput = z.infer<typeof SummaryOutputSchema>;
export type LabelScore = z.infer<typeof LabelScoreSchema>;
export type ClassificationOutput = z.infer<typeof ClassificationOutputSchema>;
export type SummarizeResult = z.infer<typeof SummarizeResultSchema>;
export type ClassifyResult = z.infer<typeof ClassifyResultSchema>;
export type DocumentResult = z.infer<typeof DocumentResultSchema>;
export type EventScore = z.infer<typeof EventScoreSchema>;
export type AnomalyResult = z.infer<typeof AnomalyResultSchema>;
export type WindowTopEvent = z.infer<typeof WindowTopEventSchema>;
export type WindowSummary = z.infer<typeof WindowSummarySchema>;
export type ThresholdState = z.infer<typeof ThresholdStateSchema>;
export type Result = z.infer<typeof ResultSchema>;
export type BoundaryKind = z.infer<typeof BoundaryKindSchema>;
export type SectionResult = z.infer<typeof SectionResultSchema>;
export type SummarizeCoverage = z.infer<typeof SummarizeCoverageSchema>;
export type ClassifyCoverage = z.infer<typeof ClassifyCoverageSchema>;
export type FailureRecord = z.infer<typeof FailureRecordSchema>;
