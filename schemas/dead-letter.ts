// rwkvstream.dead-letter: everything that could not be processed, with the reason and enough to replay it:
// the original record's bytes (base64) and where it came from.
import { z } from 'zod';

export const DEAD_LETTER_SCHEMA_V1 = 'rwkvstream.dead-letter.v1';

export const DeadLetterStageSchema = z.enum(['ingest', 'plan', 'chunk', 'finish', 'drain']);

export const SourceRecordSchema = z.strictObject({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  /** The record key's bytes (base64), or null for a record without a key. */
  keyBase64: z.string().nullable(),
  timestamp: z.string(),
});

export const DeadLetterSchema = z.strictObject({
  schema: z.literal(DEAD_LETTER_SCHEMA_V1),
  stage: DeadLetterStageSchema,
  /** Stable machine-readable cause (E_SCHEMA, E_OVERSIZED, E_STATE_MISMATCH, ...). */
  code: z.string(),
  reason: z.string(),
  subject: z.strictObject({ kind: z.enum(['document', 'stream']), id: z.string() }).optional(),
  source: SourceRecordSchema.optional(),
  /** The original record value; null for a record without a value. Absent when the failure came later than ingest. */
  original: z.strictObject({ base64: z.string(), bytes: z.number().int().nonnegative() }).nullable().optional(),
  /**
   * The whole letter was too large for the dead-letter topic: it is kept in Redis under this key (with the
   * reason it could not be published), and this reference went out instead, without `original`.
   */
  stored: z
    .strictObject({ redisKey: z.string(), bytes: z.number().int().nonnegative(), reason: z.string() })
    .optional(),
  /** Attempts made, for failures of queued work. */
  attempts: z.number().int().nonnegative().optional(),
  failedAt: z.string(),
});

export type DeadLetterStage = z.infer<typeof DeadLetterStageSchema>;
export type SourceRecord = z.infer<typeof SourceRecordSchema>;
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
