// rwkvstream.results: what comes out. Every result names its document or stream, the task, the model and
// tokenizer that produced it (fingerprints) and how many tokens were read. Results hold no timestamps: an
// interrupted and resumed run emits exactly the bytes an uninterrupted one does (the Kafka record has its time).
import { z } from 'zod';

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
  /** Tokens of the document (the template and generated tokens not included). */
  tokens: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  chunkTokens: z.number().int().positive(),
};

export const SummarizeResultSchema = z.strictObject({
  ...DocumentResultBase,
  task: z.literal('summarize'),
  summary: SummaryOutputSchema,
});

export const ClassifyResultSchema = z.strictObject({
  ...DocumentResultBase,
  task: z.literal('classify'),
  classification: ClassificationOutputSchema,
});

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
  threshold: z.number(),
  events: z.array(EventScoreSchema),
  alerts: z.number().int().nonnegative(),
});

export const DocumentResultSchema = z.discriminatedUnion('task', [SummarizeResultSchema, ClassifyResultSchema]);
export const ResultSchema = z.union([DocumentResultSchema, AnomalyResultSchema]);

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
export type Result = z.infer<typeof ResultSchema>;
export type FailureRecord = z.infer<typeof FailureRecordSchema>;
