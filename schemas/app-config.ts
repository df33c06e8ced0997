// The settings a user gives rwkvstream (flags, environment, a config file): which model, where the services
// are, how documents are cut, and the defaults of every task. Task fields reuse the task schemas, so a default
// here is the same default a submitted document gets.
import { z } from 'zod';

import {
  BatchSettingsSchema,
  DocumentLimitsSchema,
  PipelineSettingsSchema,
  RoleSchema,
  ServiceConfigSchema,
  TopicsSchema,
} from './config.ts';
import { DeviceSchema, WeightTypeSchema } from './engine.ts';
import { FetchSettingsSchema } from './fetch.ts';
import {
  AnomalySettingsSchema,
  ClassifyTaskFieldsSchema,
  PromptFormatSchema,
  SummarizeTaskFieldsSchema,
} from './tasks.ts';

const positiveInt = (what = 'a positive integer') =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` });

const port = z
  .number({ error: 'expected a port number (0-65535) or null' })
  .int({ error: 'expected a port number (0-65535) or null' })
  .min(0, { error: 'expected a port number (0-65535) or null' })
  .max(65535, { error: 'expected a port number (0-65535) or null' });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const RedisUrlSchema = z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' });

/** host:port, as kafkajs takes brokers. */
export const KafkaBrokerSchema = z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, {
  error: 'expected host:port',
});

/** How a worker runs: the service and pipeline settings only a worker reads (defaults: ServiceConfigSchema's). */
export const WorkerSettingsSchema = z.strictObject({
  /** Name in logs, audit trails and `status` (default host:pid). */
  name: z.string().min(1, { error: 'expected a worker name' }).optional(),
  roles: z
    .array(RoleSchema)
    .min(1, { error: 'expected at least one role (ingest, chunks)' })
    .default(['ingest', 'chunks']),
  concurrency: ServiceConfigSchema.shape.concurrency,
  groupId: ServiceConfigSchema.shape.groupId,
  lockMs: ServiceConfigSchema.shape.lockMs,
  stalledMs: ServiceConfigSchema.shape.stalledIntervalMs,
  attempts: ServiceConfigSchema.shape.attempts,
  backoffMs: ServiceConfigSchema.shape.backoffMs,
  resultTtlSeconds: ServiceConfigSchema.shape.resultTtlSeconds,
  /** Batch results kept per event stream for `result --stream` (its recent history and --follow). */
  streamHistoryBatches: ServiceConfigSchema.shape.streamHistoryBatches,
  streamMaxLength: ServiceConfigSchema.shape.streamMaxLength,
  /** Parts of a document that never completes expire this long after the last one (with a failure record). */
  partTtlSeconds: ServiceConfigSchema.shape.partTtlSeconds,
  streamIdleTtlSeconds: ServiceConfigSchema.shape.streamIdleTtlSeconds,
  maxStreams: ServiceConfigSchema.shape.maxStreams,
  maxStreamEvents: ServiceConfigSchema.shape.maxStreamEvents,
  /** Start against a Redis that keeps nothing across a restart (neither AOF nor RDB). */
  allowVolatileRedis: ServiceConfigSchema.shape.allowVolatileRedis,
  /** Tries to reach Redis and Kafka when the worker starts, before it gives up. */
  connectAttempts: z.number().int().min(1).max(100).default(6),
  segmentTokens: PipelineSettingsSchema.shape.segmentTokens,
  maxDocumentBytes: PipelineSettingsSchema.shape.maxDocumentBytes,
  maxEventBytes: PipelineSettingsSchema.shape.maxEventBytes,
  fileRoots: PipelineSettingsSchema.shape.fileRoots,
  batch: BatchSettingsSchema.default(BatchSettingsSchema.parse({})),
});

const file = (what: string) => z.string().min(1, { error: `expected the path of ${what}` });
/** host:port of a Redis Sentinel. */
const HostPortSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, { error: 'expected host:port' });

/**
 * How a TLS connection is checked and which client certificate it shows. The CA, certificate and key are
 * files (a key never passes through a flag's text or the environment).
 */
export const TlsSettingsSchema = z.strictObject({
  /** PEM file of the CA(s) the server's certificate must chain to (unset: the system's CAs). */
  ca: file('a PEM CA file').optional(),
  /** PEM client certificate, for servers that ask for one; needs `key`. */
  cert: file('a PEM certificate').optional(),
  /** PEM private key of the client certificate. */
  key: file('a PEM private key').optional(),
  /** Name the server's certificate must carry, when it is not the host connected to. */
  serverName: z.string().min(1).optional(),
});

/**
 * Access to Redis beyond its URL. Secrets (password) come from the environment or a file (passwordFile),
 * never from a flag.
 */
export const RedisAccessSettingsSchema = z.strictObject({
  /** ACL user (unset: the URL's user, else "default"). */
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  passwordFile: file('a file holding the password').optional(),
  /** TLS settings; a rediss:// URL turns TLS on, and so does any of these. */
  tls: TlsSettingsSchema.optional(),
  /** Sentinels to ask for the master named `sentinelName` (the URL's host is then not used). */
  sentinels: z.array(HostPortSchema).min(1, { error: 'expected at least one sentinel' }).optional(),
  sentinelName: z.string().min(1).optional(),
  sentinelPassword: z.string().min(1).optional(),
  sentinelPasswordFile: file('a file holding the sentinel password').optional(),
  /** The URL is one node of a Redis Cluster. */
  cluster: z.boolean({ error: 'expected true or false' }).default(false),
});

export const KafkaSaslMechanismSchema = z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
  error: 'expected plain, scram-sha-256 or scram-sha-512',
});

/** Access to Kafka beyond the broker list: TLS and SASL. The SASL password comes from the environment or a file. */
export const KafkaAccessSettingsSchema = z.strictObject({
  /** TLS to the brokers: `enabled`, or on by itself when a CA, certificate or server name is set. */
  tls: TlsSettingsSchema.extend({ enabled: z.boolean({ error: 'expected true or false' }).default(false) }).optional(),
  sasl: z
    .strictObject({
      mechanism: KafkaSaslMechanismSchema,
      username: z.string().min(1, { error: 'expected a SASL user name' }),
      password: z.string().min(1).optional(),
      passwordFile: file('a file holding the SASL password').optional(),
    })
    .optional(),
});

export const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: 'expected fatal, error, warn, info, debug, trace or silent',
});
export const LogFormatSchema = z.enum(['auto', 'pretty', 'json'], { error: 'expected auto, pretty or json' });

/** The prompt format is a setting of its own (`promptFormat`): it follows the model unless it is set. */
export const SummaryDefaultsSchema = SummarizeTaskFieldsSchema.omit({ kind: true, promptFormat: true });
export const ClassifyDefaultsSchema = ClassifyTaskFieldsSchema.pick({ template: true, labelPrefix: true, score: true });

export const AppConfigSchema = z.strictObject({
  /** Model file, or the name of a catalog model (g1-0.1b) or of a cached one. Unset: the cache, then a download. */
  model: z.string().min(1, { error: 'expected a model file or name' }).optional(),
  /** World vocabulary file, "bytes", or unset (bytes for 256-id models, else the cached World vocabulary). */
  vocab: z.string().min(1, { error: 'expected a vocabulary file or "bytes"' }).optional(),
  weights: WeightTypeSchema.default('f32'),
  /**
   * How documents are written for the model (raw, world, rwkv7-g, raven). Unset: the catalog entry's format, else
   * the one an official release's file name implies, else raw.
   */
  promptFormat: PromptFormatSchema.optional(),
  threads: z.number({ error: 'expected a number of threads (0: all)' }).int().min(0).max(1024).default(0),
  device: DeviceSchema.default('cpu'),
  /** The native engine's compiled addon (rwkv.node). Unset: the one `npm install` builds. */
  addon: z.string().min(1, { error: 'expected the path of rwkv.node' }).optional(),
  /** Cache of downloaded models and the vocabulary. */
  home: z.string().min(1),
  hfEndpoint: httpUrl.default('https://huggingface.co'),
  vocabUrl: httpUrl,
  /** Never download: resolution uses only what is given or cached. */
  offline: z.boolean({ error: 'expected true or false' }).default(false),
  /** Unset: no Redis configured (the distributed mode refuses to start; doctor skips the check). */
  redisUrl: RedisUrlSchema.optional(),
  kafkaBrokers: z.array(KafkaBrokerSchema).min(1, { error: 'expected at least one broker' }).optional(),
  /** Credentials, TLS, Sentinel and Cluster of the Redis at redisUrl. */
  redis: RedisAccessSettingsSchema.default(RedisAccessSettingsSchema.parse({})),
  /** TLS and SASL of the Kafka brokers. */
  kafka: KafkaAccessSettingsSchema.default(KafkaAccessSettingsSchema.parse({})),
  /** Namespace of the Redis keys and BullMQ queues of one deployment. */
  prefix: ServiceConfigSchema.shape.prefix,
  /** Topics named <topicPrefix>.documents and so on; a topic set under topics.* wins. Applied while loading. */
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'expected a topic name prefix (letters, digits, . _ -)' })
    .optional(),
  topics: TopicsSchema.default(TopicsSchema.parse({})),
  /** Partitions of the topics a worker or submit creates (existing topics are left as they are). */
  partitions: ServiceConfigSchema.shape.partitions,
  /** Largest input record: submit sends none larger, a worker refuses larger ones. */
  maxMessageBytes: PipelineSettingsSchema.shape.maxMessageBytes,
  /** Bytes of a document per part when submit sends a large file. */
  partBytes: positiveInt()
    .min(1024, { error: 'expected at least 1024 bytes' })
    .default(256 * 1024),
  worker: WorkerSettingsSchema.default(WorkerSettingsSchema.parse({})),
  /** Tokens per chunk: the checkpoint interval. */
  chunkTokens: positiveInt()
    .max(1 << 20, { error: 'expected at most 1048576 tokens' })
    .default(4096),
  /** A document with more tokens is refused while it is tokenized (E_TOO_LARGE). */
  maxDocumentTokens: positiveInt().default(1 << 24),
  /** Where the embedded mode keeps state checkpoints. */
  checkpointDir: z.string().min(1),
  /** null: no metrics endpoint; 0: any free port. */
  metricsPort: port.nullable().default(9464),
  /** The metrics endpoint's address: loopback unless asked (it has no authentication). */
  metricsHost: z.string().min(1).default('127.0.0.1'),
  /** Unset: info for a worker, warn for the embedded commands. */
  logLevel: LogLevelSchema.optional(),
  logFormat: LogFormatSchema.default('auto'),
  summary: SummaryDefaultsSchema.default(SummaryDefaultsSchema.parse({})),
  classify: ClassifyDefaultsSchema.default(ClassifyDefaultsSchema.parse({})),
  anomaly: AnomalySettingsSchema.default(AnomalySettingsSchema.parse({})),
  /** Servers a worker may read http(s) references from (none by default), and the limits of one fetch. */
  fetch: FetchSettingsSchema.default(FetchSettingsSchema.parse({})),
  /** Caps on the sections and generated tokens one document may ask for (a worker refuses more). */
  limits: DocumentLimitsSchema.default(DocumentLimitsSchema.parse({})),
});

export type AppConfig = z.infer<typeof AppConfigSchema>;
export type AppConfigInput = z.input<typeof AppConfigSchema>;
export type WorkerSettings = z.infer<typeof WorkerSettingsSchema>;
export type TlsSettings = z.infer<typeof TlsSettingsSchema>;
export type RedisAccessSettings = z.infer<typeof RedisAccessSettingsSchema>;
export type KafkaAccessSettings = z.infer<typeof KafkaAccessSettingsSchema>;
export type LogLevel = z.infer<typeof LogLevelSchema>;
export type LogFormat = z.infer<typeof LogFormatSchema>;
export type SummaryDefaults = z.infer<typeof SummaryDefaultsSchema>;
export type ClassifyDefaults = z.infer<typeof ClassifyDefaultsSchema>;
