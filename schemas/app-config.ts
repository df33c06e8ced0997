// The settings a user gives rwkvstream (flags, environment, a config file): which model, where the services
// are, how documents are cut, and the defaults of every task. Task fields reuse the task schemas, so a default
// here is the same default a submitted document gets.
import { z } from 'zod';

import { TopicsSchema } from './config.ts';
import { DeviceSchema, WeightTypeSchema } from './engine.ts';
import { AnomalySettingsSchema, ClassifyTaskFieldsSchema, PromptFormatSchema, SummarizeTaskFieldsSchema } from './tasks.ts';

const positiveInt = (what = 'a positive integer') =>
  z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).positive({ error: `expected ${what}` });

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
  /** Cache of downloaded models and the vocabulary. */
  home: z.string().min(1),
  hfEndpoint: httpUrl.default('https://huggingface.co'),
  vocabUrl: httpUrl,
  /** Never download: resolution uses only what is given or cached. */
  offline: z.boolean({ error: 'expected true or false' }).default(false),
  /** Unset: no Redis configured (the distributed mode refuses to start; doctor skips the check). */
  redisUrl: RedisUrlSchema.optional(),
  kafkaBrokers: z.array(KafkaBrokerSchema).min(1, { error: 'expected at least one broker' }).optional(),
  topics: TopicsSchema.default(TopicsSchema.parse({})),
  /** Tokens per chunk: the checkpoint interval. */
  chunkTokens: positiveInt().max(1 << 20, { error: 'expected at most 1048576 tokens' }).default(4096),
  /** A document with more tokens is refused while it is tokenized (E_TOO_LARGE). */
  maxDocumentTokens: positiveInt().default(1 << 24),
  /** Where the embedded mode keeps state checkpoints. */
  checkpointDir: z.string().min(1),
  /** null: no metrics endpoint; 0: any free port. */
  metricsPort: port.nullable().default(9464),
  summary: SummaryDefaultsSchema.default(SummaryDefaultsSchema.parse({})),
  classify: ClassifyDefaultsSchema.default(ClassifyDefaultsSchema.parse({})),
  anomaly: AnomalySettingsSchema.default(AnomalySettingsSchema.parse({})),
});

export type AppConfig = z.infer<typeof AppConfigSchema>;
export type AppConfigInput = z.input<typeof AppConfigSchema>;
export type SummaryDefaults = z.infer<typeof SummaryDefaultsSchema>;
export type ClassifyDefaults = z.infer<typeof ClassifyDefaultsSchema>;
