// Where a document or an event stream stands, as `rwkvstream status ID --json` prints it and the metrics
// endpoint serves it at /documents/ID (/streams/ID).
import { z } from 'zod';

const Base = { id: z.string() };

export const DocumentStatusReportSchema = z.discriminatedUnion('state', [
  /** Nothing under this id in this deployment (wrong prefix or Redis, not submitted yet, or expired). */
  z.strictObject({ ...Base, kind: z.literal('document'), state: z.literal('unknown') }),
  /** Taken in, not planned yet: parts still arriving, or waiting for (or in) planning. */
  z.strictObject({
    ...Base,
    kind: z.literal('document'),
    state: z.literal('queued'),
    step: z.enum(['receiving', 'waiting', 'planning']),
    partsReceived: z.number().int().nonnegative(),
    /** Parts the document has, once its final part arrived. */
    parts: z.number().int().positive().nullable(),
    worker: z.string().nullable(),
  }),
  z.strictObject({
    ...Base,
    kind: z.literal('document'),
    state: z.literal('running'),
    /** Chunks committed, of `chunks`. */
    chunk: z.number().int().nonnegative(),
    chunks: z.number().int().positive(),
    tokens: z.number().int().nonnegative(),
    totalTokens: z.number().int().positive(),
    /** Tokens per second over the recent commits; null until two commits exist. */
    rate: z.number().nonnegative().nullable(),
    etaSeconds: z.number().nonnegative().nullable(),
    /** The worker running its next step; null while that step waits in the queue. */
    worker: z.string().nullable(),
    /** Who committed the last chunk. */
    lastWriter: z.string().nullable(),
  }),
  z.strictObject({
    ...Base,
    kind: z.literal('document'),
    state: z.literal('done'),
    tokens: z.number().int().nonnegative(),
    chunks: z.number().int().nonnegative(),
    task: z.string(),
  }),
  /** Failed for good after it was accepted (retries used up, a model error). */
  z.strictObject({
    ...Base,
    kind: z.literal('document'),
    state: z.literal('failed'),
    stage: z.string(),
    code: z.string(),
    message: z.string(),
  }),
  /** Refused while it was taken in or planned: bad input (empty, too large, unreadable reference, ...). */
  z.strictObject({
    ...Base,
    kind: z.literal('document'),
    state: z.literal('refused'),
    stage: z.string(),
    code: z.string(),
    message: z.string(),
  }),
]);

export const StreamStatusReportSchema = z.discriminatedUnion('state', [
  z.strictObject({ ...Base, kind: z.literal('stream'), state: z.literal('unknown') }),
  z.strictObject({
    ...Base,
    kind: z.literal('stream'),
    state: z.literal('active'),
    /** Anomaly batches scored so far. */
    batches: z.number().int().nonnegative(),
    /** Tokens read so far. */
    tokens: z.number().int().nonnegative(),
    /** Events taken in and waiting for their batch. */
    waiting: z.number().int().nonnegative(),
    /** Sequence number of the last event taken in. */
    lastSequence: z.number().int().nonnegative().nullable(),
    /** Whether a latest batch result can be read (`rwkvstream result ID --stream`). */
    hasResult: z.boolean(),
    worker: z.string().nullable(),
  }),
]);

export const StatusReportSchema = z.union([DocumentStatusReportSchema, StreamStatusReportSchema]);

export type DocumentStatusReport = z.infer<typeof DocumentStatusReportSchema>;
export type StreamStatusReport = z.infer<typeof StreamStatusReportSchema>;
export type StatusReport = z.infer<typeof StatusReportSchema>;
