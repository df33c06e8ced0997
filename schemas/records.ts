// What the pipeline keeps about a planned document. Written once at planning time and never changed (its
// status lives beside it), so every chunk job of the document reads the same plan.
import { z } from 'zod';

import { SourceRecordSchema } from './dead-letter.ts';
import { ChainSchema, DocumentIdSchema } from './ids.ts';
import { DocumentTaskSchema } from './tasks.ts';

export const TokenLayoutSchema = z.strictObject({
  /** Distinguishes this planning attempt's token keys from a crashed earlier attempt's. */
  nonce: z.string().regex(/^[0-9a-f]{16}$/),
  /** Token ids per stored segment (a Redis string holds at most 512 MB). */
  segmentTokens: z.number().int().positive(),
  segments: z.number().int().nonnegative(),
});

export const DocumentRecordSchema = z.strictObject({
  id: DocumentIdSchema,
  task: DocumentTaskSchema,
  bytes: z.number().int().positive(),
  /** Of the document's bytes: a redelivered document is recognised, a reused id with other content refused. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  tokens: z.number().int().positive(),
  chunkTokens: z.number().int().positive(),
  chunks: z.number().int().positive(),
  layout: TokenLayoutSchema,
  tokenizer: z.strictObject({ kind: z.string(), fingerprint: z.string() }),
  /** The reference it was read from (a redelivered reference is recognised by it). */
  url: z.string().optional(),
  origin: SourceRecordSchema.optional(),
  /**
   * Set when the id is read again after a failure: the new chain's job ids carry it, so the old chain's jobs
   * (kept in the queue a while after they ended) cannot stand in for the new one's.
   */
  chain: ChainSchema.optional(),
});

export const DocumentStatusSchema = z.enum(['running', 'done', 'failed']);

export type TokenLayout = z.infer<typeof TokenLayoutSchema>;
export type DocumentRecord = z.infer<typeof DocumentRecordSchema>;
export type DocumentStatus = z.infer<typeof DocumentStatusSchema>;
