// Payloads of queued work. Jobs carry identities only (document id, chunk index); everything else — tokens,
// task, checkpoint — is read from the store when the job runs, so a retried or duplicated job sees the truth.
import { z } from 'zod';

import { SourceRecordSchema } from './dead-letter.ts';
import { ChainSchema, DocumentIdSchema, StreamIdSchema } from './ids.ts';
import { DocumentTaskSchema } from './tasks.ts';

export const PlanSourceSchema = z.discriminatedUnion('kind', [
  /** The body was assembled in the part store (a whole-text message is one final part). */
  z.strictObject({ kind: z.literal('parts'), count: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('ref'), url: z.string() }),
]);

export const PlanJobSchema = z.strictObject({
  kind: z.literal('plan'),
  doc: DocumentIdSchema,
  task: DocumentTaskSchema,
  source: PlanSourceSchema,
  /** The record that completed the document, for the dead letter if planning fails. */
  origin: SourceRecordSchema.optional(),
  /** That record's bytes when they are small (references), so a dead letter can carry them. */
  originalBase64: z.string().optional(),
});

export const ChunkJobSchema = z.strictObject({
  kind: z.literal('chunk'),
  doc: DocumentIdSchema,
  chunk: z.number().int().nonnegative(),
  /** The document record's chain (see DocumentRecordSchema). */
  chain: ChainSchema.optional(),
});

export const FinishJobSchema = z.strictObject({
  kind: z.literal('finish'),
  doc: DocumentIdSchema,
  chain: ChainSchema.optional(),
});

export const DrainJobSchema = z.strictObject({
  kind: z.literal('drain'),
  stream: StreamIdSchema,
  /** The batch this job was scheduled for; it drains from wherever the stream's checkpoint is. */
  batch: z.number().int().nonnegative(),
});

export const PipelineJobSchema = z.discriminatedUnion('kind', [
  PlanJobSchema,
  ChunkJobSchema,
  FinishJobSchema,
  DrainJobSchema,
]);

export type PlanSource = z.infer<typeof PlanSourceSchema>;
export type PlanJob = z.infer<typeof PlanJobSchema>;
export type ChunkJob = z.infer<typeof ChunkJobSchema>;
export type FinishJob = z.infer<typeof FinishJobSchema>;
export type DrainJob = z.infer<typeof DrainJobSchema>;
export type PipelineJob = z.infer<typeof PipelineJobSchema>;
