// The files of an embedded job: what the job is (its key is a hash of this), and the checkpoint directory's
// records — a state's committed head, a planned document, a stored result, a document's parts. Each is read
// back through its schema, so a damaged file is refused by name instead of being half-understood.
import { z } from 'zod';

import { DocumentIdSchema, StreamIdSchema } from './ids.ts';
import { DocumentRecordSchema, DocumentStatusSchema } from './records.ts';
import { ProvenanceSchema } from './results.ts';
import { AnomalySettingsSchema, DocumentTaskSchema } from './tasks.ts';

/** Bumped when the layout of a job directory changes: a job directory of another format is never resumed. */
export const EMBEDDED_FORMAT = 1;

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

const engineFields = {
  ...ProvenanceSchema.shape,
  /** Weights in memory and the device change the floats, so a state from one is never continued on the other. */
  weights: z.string(),
  device: z.string(),
};

const inputFields = {
  /** The input's name: the file's base name, or "stdin". It becomes the source topic of the records. */
  source: z.string().min(1),
  sha256: Sha256Schema,
  bytes: z.number().int().nonnegative(),
};

export const DocumentJobSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  command: z.enum(['summarize', 'classify']),
  id: DocumentIdSchema,
  ...inputFields,
  task: DocumentTaskSchema,
  chunkTokens: z.number().int().positive(),
  ...engineFields,
});

/**
 * A scan is a stream: its checkpoint is keyed by the stream id and where the lines come from (not by their
 * content, which a live input does not have yet), with every option the scores depend on.
 */
export const ScanJobSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  command: z.literal('scan'),
  id: StreamIdSchema,
  /** "stdin", or the log file's absolute path. */
  source: z.string().min(1),
  /** batchMs is left out: it decides when a batch is scored, never what its scores are. */
  anomaly: AnomalySettingsSchema.omit({ batchMs: true }),
  maxEventBytes: z.number().int().positive(),
  ...engineFields,
});

/** What a job directory holds the work of (job.json); the directory's name is a hash of it. */
export const JobDescriptionSchema = z.union([DocumentJobSchema, ScanJobSchema]);

/** A state's committed checkpoint: the StateStore head, and the checksum its blob file must match. */
export const HeadFileSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  kind: z.enum(['document', 'stream']),
  id: z.string(),
  version: z.number().int().positive(),
  chunk: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  cursor: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** File name of the blob, in the same directory. */
  blob: z.string().regex(/^[A-Za-z0-9._-]+$/),
  sha256: Sha256Schema,
  result: z.string().nullable(),
  published: z.boolean(),
  writer: z.string(),
});

/**
 * Where a scan of a file is: after the line of sequence number `seq`, committed. Written after each commit, so
 * it may lag behind the checkpoint (never run ahead of it): a resumed scan reads from here, and the lines up to
 * the checkpoint's cursor are recognised as scored already.
 */
export const ScanPositionSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  seq: z.number().int().nonnegative(),
  generation: z.number().int().nonnegative(),
  line: z.number().int().nonnegative(),
  byte: z.number().int().nonnegative(),
  file: z.string().min(1),
});

export const DocumentFileSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  record: DocumentRecordSchema,
  status: DocumentStatusSchema,
});

export const ResultFileSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  json: z.string().nullable(),
  published: z.boolean(),
  failure: z.string().nullable(),
});

/** What arrived of a document sent in parts: sizes by index, and the final part's count and task. */
export const PartsFileSchema = z.strictObject({
  format: z.literal(EMBEDDED_FORMAT),
  sizes: z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative()),
  /** The number of parts, once the final part arrived. */
  count: z.number().int().positive().nullable(),
  task: DocumentTaskSchema.nullable(),
});

export type DocumentJob = z.infer<typeof DocumentJobSchema>;
export type ScanJob = z.infer<typeof ScanJobSchema>;
export type ScanPosition = z.infer<typeof ScanPositionSchema>;
export type JobDescription = z.infer<typeof JobDescriptionSchema>;
export type HeadFile = z.infer<typeof HeadFileSchema>;
export type DocumentFile = z.infer<typeof DocumentFileSchema>;
export type ResultFile = z.infer<typeof ResultFileSchema>;
export type PartsFile = z.infer<typeof PartsFileSchema>;
