// What the distributed commands take from the configuration: where Redis and Kafka are (and which setting
// said so, for error messages), a worker's service settings and the pipeline's limits.
import type { AppConfig } from '../../schemas/app-config.ts';
import {
  PipelineSettingsSchema,
  ServiceConfigSchema,
  type PipelineSettings,
  type ServiceConfig,
} from '../../schemas/config.ts';
import { ConfigError } from './errors.ts';
import type { LoadedConfig } from './load.ts';

/** A service address and the setting that chose it ("environment REDIS_URL", "flag --kafka", ...). */
export interface ServiceAddress<T> {
  value: T;
  origin: string;
}

/** Redis of a distributed command; refused with what to set when none is configured. */
export function redisFrom(loaded: LoadedConfig): ServiceAddress<string> {
  const url = loaded.config.redisUrl;
  if (url === undefined) {
    throw new ConfigError([
      {
        source: 'not set',
        path: 'redisUrl',
        message:
          'no Redis configured: give --redis URL or set REDIS_URL (infra/redis/start.sh starts one and prints its URL)',
      },
    ]);
  }
  return { value: url, origin: loaded.origin('redisUrl') };
}

/** Kafka brokers of a distributed command; refused with what to set when none are configured. */
export function kafkaFrom(loaded: LoadedConfig): ServiceAddress<string[]> {
  const brokers = loaded.config.kafkaBrokers;
  if (brokers === undefined) {
    throw new ConfigError([
      {
        source: 'not set',
        path: 'kafkaBrokers',
        message:
          'no Kafka brokers configured: give --kafka HOST:PORT or set KAFKA_BROKERS (infra/kafka/start.sh starts a broker and prints its address)',
      },
    ]);
  }
  return { value: brokers, origin: loaded.origin('kafkaBrokers') };
}

/** A worker's service settings. */
export function serviceConfig(loaded: LoadedConfig): ServiceConfig {
  const { config } = loaded;
  const w = config.worker;
  return ServiceConfigSchema.parse({
    redisUrl: redisFrom(loaded).value,
    // No brokers: the worker takes documents from the Redis inbox queue that `submit` fills without Kafka.
    ...(config.kafkaBrokers === undefined ? {} : { kafkaBrokers: config.kafkaBrokers }),
    prefix: config.prefix,
    topics: config.topics,
    partitions: config.partitions,
    groupId: w.groupId,
    roles: w.roles,
    concurrency: w.concurrency,
    lockMs: w.lockMs,
    stalledIntervalMs: w.stalledMs,
    attempts: w.attempts,
    backoffMs: w.backoffMs,
    metricsPort: config.metricsPort,
    metricsHost: config.metricsHost,
    resultTtlSeconds: w.resultTtlSeconds,
    streamHistoryBatches: w.streamHistoryBatches,
    streamMaxLength: w.streamMaxLength,
    allowVolatileRedis: w.allowVolatileRedis,
    partTtlSeconds: w.partTtlSeconds,
    streamIdleTtlSeconds: w.streamIdleTtlSeconds,
    maxStreams: w.maxStreams,
    maxStreamEvents: w.maxStreamEvents,
    ...(w.name === undefined ? {} : { workerName: w.name }),
    batch: w.batch,
  });
}

/** The pipeline's chunking and limits, as a worker applies them. */
export function pipelineSettings(config: AppConfig): PipelineSettings {
  return PipelineSettingsSchema.parse({
    chunkTokens: config.chunkTokens,
    segmentTokens: config.worker.segmentTokens,
    maxMessageBytes: config.maxMessageBytes,
    maxDocumentBytes: config.worker.maxDocumentBytes,
    maxDocumentTokens: config.maxDocumentTokens,
    maxEventBytes: config.worker.maxEventBytes,
    fileRoots: config.worker.fileRoots,
    fetch: config.fetch,
    anomaly: config.anomaly,
    limits: config.limits,
  });
}
