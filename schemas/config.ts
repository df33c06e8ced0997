// Settings: what the pipelines need (chunking, limits, anomaly scoring) and how a worker process reaches the
// services. One schema each; the CLI and tests build them from flags, the defaults are the production ones.
import { z } from 'zod';

import { FetchSettingsSchema } from './fetch.ts';
import { AnomalySettingsSchema } from './tasks.ts';

const MiB = 1024 * 1024;

/** Caps on the work one document may ask for (checked at ingest and while it is tokenized). */
export const DocumentLimitsSchema = z.strictObject({
  /** Sections one document may be cut into. */
  maxSections: z.number().int().min(1).default(100_000),
  /** Tokens one document's answers may generate in all (summary, section summaries, reduce steps). */
  maxGeneratedTokens: z.number().int().min(1).default(1_000_000),
});

export const PipelineSettingsSchema = z.strictObject({
  /** Tokens per chunk job: the checkpoint interval. */
  chunkTokens: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(4096),
  /** Token ids per stored segment of a planned document (16M ids: 64 MiB per Redis string). */
  segmentTokens: z
    .number()
    .int()
    .min(1024)
    .max(1 << 27)
    .default(1 << 24),
  /** A record on an input topic larger than this is refused (dead letter) without being parsed. */
  maxMessageBytes: z.number().int().min(1024).default(MiB),
  /** Upper bound on an assembled or referenced document. */
  maxDocumentBytes: z
    .number()
    .int()
    .min(1)
    .default(4096 * MiB),
  /** Upper bound on a document's tokens, checked while it is tokenized (16,777,216: 2^24). */
  maxDocumentTokens: z
    .number()
    .int()
    .min(1)
    .default(1 << 24),
  maxParts: z.number().int().min(1).max(10_000_000).default(1_000_000),
  maxEventBytes: z
    .number()
    .int()
    .min(1)
    .default(64 * 1024),
  /** Directories file:// references may read from; none: file references are refused. */
  fileRoots: z.array(z.string().min(1)).default([]),
  /** No byte from an http(s) reference for this long fails the read (retried). */
  refTimeoutMs: z.number().int().min(100).default(30_000),
  /** Which servers http(s) references may be read from, and the limits of one fetch. */
  fetch: FetchSettingsSchema.default(FetchSettingsSchema.parse({})),
  anomaly: AnomalySettingsSchema.default(AnomalySettingsSchema.parse({})),
  limits: DocumentLimitsSchema.default(DocumentLimitsSchema.parse({})),
});

export const TopicsSchema = z.strictObject({
  documents: z.string().min(1).default('rwkvstream.documents'),
  events: z.string().min(1).default('rwkvstream.events'),
  results: z.string().min(1).default('rwkvstream.results'),
  deadLetter: z.string().min(1).default('rwkvstream.dead-letter'),
});

export const RoleSchema = z.enum(['ingest', 'chunks']);

/**
 * Batched scheduling of model work: up to `streams` chunk and drain jobs of different documents and stream keys
 * run through the weights in one forward call. `streams` 1 is off: every job calls the model alone.
 */
export const BatchSettingsSchema = z.strictObject({
  /** Jobs whose model calls may share one forward (the chunks lane then runs at least this many jobs at once). */
  streams: z.number().int().min(1).max(1024).default(1),
  /** Longest a ready request waits for others to join its batch. */
  waitMs: z.number().min(0).max(10_000).default(5),
  /** Tokens per batched forward (all streams together): bounds activation memory and the time of one call. */
  tokens: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(16_384),
  /**
   * Tokens one request may put into one batch; a longer request continues in the next batch. A 4096-token
   * document chunk so holds back a batch of short event chunks for a slice's time, not the whole chunk's.
   */
  sliceTokens: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(1024),
  /** Logits one batch may return, in floats (positions with logits × vocabulary): bounds the output memory. */
  logitsFloats: z
    .number()
    .int()
    .min(1)
    .default(64 * 1024 * 1024),
});

export const ServiceConfigSchema = z.strictObject({
  redisUrl: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Absent: no Kafka; documents arrive on the Redis inbox queue and results and dead letters go to Redis streams. */
  kafkaBrokers: z.array(z.string().min(1)).min(1).optional(),
  /** Namespace of every Redis key and BullMQ queue of this deployment. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .default('rwkvstream'),
  topics: TopicsSchema.default(TopicsSchema.parse({})),
  /** Partitions for topics this process creates (existing topics are left as they are). */
  partitions: z.number().int().min(1).max(1000).default(3),
  groupId: z.string().min(1).default('rwkvstream-ingest'),
  clientId: z.string().min(1).default('rwkvstream'),
  roles: z.array(RoleSchema).min(1).default(['ingest', 'chunks']),
  /** Chunk jobs run at once in this process (each runs the model; 1 keeps all cores on one chunk). */
  concurrency: z.number().int().min(1).max(64).default(1),
  /** A job whose lock is not renewed for this long is taken over by another worker. */
  lockMs: z.number().int().min(1000).default(60_000),
  stalledIntervalMs: z.number().int().min(500).default(30_000),
  attempts: z.number().int().min(1).max(100).default(5),
  backoffMs: z.number().int().min(0).default(1000),
  /** 0: any free port; null: no metrics endpoint. */
  metricsPort: z.number().int().min(0).max(65535).nullable().default(9464),
  metricsHost: z.string().default('127.0.0.1'),
  /** Results (and the finished document's record) are kept this long for `rwkvstream result`. */
  resultTtlSeconds: z
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
  /** Batch results kept per stream for `rwkvstream result --stream` (its recent history and --follow). */
  streamHistoryBatches: z.number().int().min(1).max(100_000).default(1000),
  /** Parts of a document that never completes are dropped after this long without a new part. */
  partTtlSeconds: z
    .number()
    .int()
    .min(1)
    .default(24 * 3600),
  /** An event stream's keys expire after this long without an event or a commit. */
  streamIdleTtlSeconds: z
    .number()
    .int()
    .min(60)
    .default(7 * 24 * 3600),
  /** Live event streams at most; events of a new stream beyond it are dead-lettered (E_STREAM_LIMIT). */
  maxStreams: z.number().int().min(1).default(100_000),
  /** Events waiting to be scored per stream at most; more are dead-lettered (E_STREAM_BACKLOG). */
  maxStreamEvents: z.number().int().min(1).default(100_000),
  /** Start against a Redis with neither AOF nor RDB (a restart loses queued work and checkpoints). */
  allowVolatileRedis: z.boolean().default(false),
  /** Name of this worker in logs, audit trails and BullMQ (default: host:pid). */
  workerName: z.string().min(1).optional(),
  batch: BatchSettingsSchema.default(BatchSettingsSchema.parse({})),
  /** Without Kafka: entries kept in each of the Redis results and dead-letter streams (older ones are trimmed). */
  streamMaxLength: z.number().int().min(1).max(100_000_000).default(100_000),
});

export type PipelineSettings = z.infer<typeof PipelineSettingsSchema>;
export type DocumentLimits = z.infer<typeof DocumentLimitsSchema>;
export type PipelineSettingsInput = z.input<typeof PipelineSettingsSchema>;
export type Topics = z.infer<typeof TopicsSchema>;
export type Role = z.infer<typeof RoleSchema>;
export type BatchSettings = z.infer<typeof BatchSettingsSchema>;
export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;
export type ServiceConfigInput = z.input<typeof ServiceConfigSchema>;
