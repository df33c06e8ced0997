// A worker process, wired: the engine, the Redis stores, BullMQ workers for the ingest (planning) and chunks
// (model) queues, the Kafka consumer that feeds them and the producer results leave by, and the metrics
// endpoint. `roles` picks what runs here; by default everything does. Without Kafka brokers the ingest role
// reads the Redis inbox queue instead, and results and dead letters go to Redis streams.
import os from 'node:os';

import { Queue, Worker } from 'bullmq';

import { reportAbandonedParts } from '../../pipelines/abandoned-parts.ts';
import { Checkpointer } from '../../pipelines/checkpoints.ts';
import type { PipelineDeps } from '../../pipelines/context.ts';
import { ForwardBatcher } from '../../pipelines/forward-batcher.ts';
import { ingestDocumentRecord, ingestEventRecord } from '../../pipelines/ingest.ts';
import type { PipelineSettings, ServiceConfig } from '../../schemas/config.ts';
import type { EngineOptions } from '../../schemas/engine.ts';
import { Engine } from '../../engine/index.ts';
import { UrlBodyReader } from '../adapters/fetch/body-reader.ts';
import { createKafka, createProducer, waitForKafka, type KafkaClient } from '../adapters/kafka/client.ts';
import { consumerLag } from '../adapters/kafka/lag.ts';
import { plainKafka, type KafkaAccess } from '../adapters/kafka/security.ts';
import { kafkaSinks } from '../adapters/kafka/sinks.ts';
import { KafkaSource } from '../adapters/kafka/record-source.ts';
import { DEAD_LETTER_MAX_BYTES, ensureTopics } from '../adapters/kafka/topics.ts';
import type { Logger } from '../log.ts';
import { PipelineMetrics } from '../metrics/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/server.ts';
import { BullJobQueue, LANES, openQueues, type Lane } from '../adapters/bullmq/job-queue.ts';
import { INBOX_QUEUE, InboxSource } from '../adapters/bullmq/inbox.ts';
import { pipelineProcessor, reportStalledFailure } from '../adapters/bullmq/processor.ts';
import { describeRedis, plainRedis, type RedisAccess } from '../adapters/redis/access.ts';
import { checkRedis, connectRedis, waitForRedis } from '../adapters/redis/connection.ts';
import { Keys } from '../adapters/redis/keys.ts';
import { requireDurableRedis } from '../adapters/redis/persistence.ts';
import { readStatus } from '../status/read-status.ts';
import { RedisDocumentStore } from '../adapters/redis/document-store.ts';
import { RedisEventLog } from '../adapters/redis/event-log.ts';
import { RedisResultStore } from '../adapters/redis/result-store.ts';
import { redisDeadLetterOverflow } from '../adapters/redis/dead-letter-store.ts';
import { redisSinks } from '../adapters/redis/sinks.ts';
import { RedisStateStore } from '../adapters/redis/state-store.ts';
import { Throttle } from './throttle.ts';

export interface WorkerOptions {
  service: ServiceConfig;
  settings: PipelineSettings;
  engine: EngineOptions;
  log: Logger;
  /** The settings that chose Redis and the brokers, for messages (default "worker settings"). */
  origins?: { redis: string; kafka: string };
  /** How to reach Redis (credentials, TLS, Sentinel, Cluster); default: service.redisUrl as it is. */
  redis?: RedisAccess;
  /** How to reach Kafka (TLS, SASL); default: service.kafkaBrokers as they are; neither: no Kafka. */
  kafka?: KafkaAccess;
  /** Tries to reach Redis (and Kafka, when configured) before giving up (default 6). */
  connectAttempts?: number;
  /** When the metrics port is busy: use the next free one (the port is the default) or stop (it was asked for). */
  metricsPortFallback?: boolean;
  /** Aborts a start that is still waiting for Redis or Kafka (a stop requested before the worker is ready). */
  signal?: AbortSignal;
}

export interface RunningWorker {
  name: string;
  metricsPort: number | null;
  stop(): Promise<void>;
}

/** How many ports after a busy default metrics port a worker tries (workers side by side on one machine). */
const METRICS_FALLBACK_PORTS = 32;

/** How long a stop may take before the worker gives up on the services it is closing (SIGTERM exits within 10 s). */
const SHUTDOWN_DEADLINE_MS = 8000;

/** Documents with expired parts reported per sweep (the rest wait for the next). */
const ABANDONED_PER_SWEEP = 100;

/** Plenty of BullMQ job states exist; these are the ones worth a gauge. */
const COUNTED_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { service, settings } = options;
  const name = service.workerName ?? `${os.hostname()}:${process.pid}`;
  const log = options.log.child({ worker: name });
  const cleanup: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    const steps = cleanup.reverse();
    const run = (async () => {
      for (const step of steps)
        await step().catch((err: Error) => log.warn({ err: err.message }, 'shutdown step failed'));
    })();
    // With Redis or Kafka gone, closing the queue workers and the consumer waits on them forever: a stop has a
    // deadline, and says why it gave up (what was left is recovered as after a crash: locks expire, jobs rerun).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), SHUTDOWN_DEADLINE_MS);
      timer.unref();
    });
    if ((await Promise.race([run, late])) === 'late') {
      log.error(
        { deadlineMs: SHUTDOWN_DEADLINE_MS },
        'shutdown did not finish in time (Redis or Kafka not answering); ' +
          'stopping anyway: running jobs are taken over after their locks expire',
      );
    }
    clearTimeout(timer);
    cleanup.length = 0;
  };

  try {
    // The services first: a wrong address is reported in seconds, not after the model has loaded.
    const attempts = options.connectAttempts ?? 6;
    const redisAccess = options.redis ?? plainRedis(service.redisUrl, options.origins?.redis);
    // No brokers: documents come in through the Redis inbox queue; results and dead letters go to Redis streams.
    const kafkaAccess =
      options.kafka ?? (service.kafkaBrokers ? plainKafka(service.kafkaBrokers, options.origins?.kafka) : undefined);
    await waitForRedis(redisAccess, attempts, log, options.signal);
    if (kafkaAccess) await waitForKafka(kafkaAccess, attempts, log, options.signal);
    options.signal?.throwIfAborted();

    const redis = connectRedis(redisAccess, `${name}/store`, log);
    cleanup.push(() => redis.quit());
    for (const problem of await checkRedis(redis)) log.warn({ redis: describeRedis(redisAccess) }, problem);
    // Before the model loads, like the connection checks: a Redis that forgets everything on restart loses work silently.
    const persistence = await requireDurableRedis(redis, service.allowVolatileRedis);
    if (!persistence.durable)
      log.warn(
        { redis: describeRedis(redisAccess), persistence: persistence.detail },
        'Redis keeps nothing across a restart (allowed by --allow-volatile-redis)',
      );

    const engine = await Engine.load(options.engine);
    cleanup.push(async () => engine.dispose());
    const queueConnection = connectRedis(redisAccess, `${name}/queue`, log);
    cleanup.push(() => queueConnection.quit());

    const keys = new Keys(service.prefix, { cluster: redisAccess.cluster });
    let kafka: { client: KafkaClient; admin: ReturnType<KafkaClient['admin']> } | null = null;
    // A dead letter too large for its topic (or, without Kafka, above the same limit) is kept in Redis and
    // published by reference.
    const overflow = redisDeadLetterOverflow(redis, keys, service.resultTtlSeconds);
    let sinks = redisSinks(redis, keys, service.streamMaxLength, { maxBytes: DEAD_LETTER_MAX_BYTES, overflow });
    if (kafkaAccess) {
      const client = createKafka(kafkaAccess, service.clientId, log);
      const admin = client.admin();
      await admin.connect();
      cleanup.push(() => admin.disconnect());
      const created = await ensureTopics(admin, service.topics, service.partitions);
      if (created.length > 0) log.info({ topics: created }, 'created topics');
      const producer = createProducer(client);
      await producer.connect();
      cleanup.push(() => producer.disconnect());
      kafka = { client, admin };
      sinks = kafkaSinks(producer, service.topics, overflow);
    }

    const queues = openQueues(queueConnection, keys.queuePrefix);
    const queue = new BullJobQueue(queues, { attempts: service.attempts, backoffMs: service.backoffMs });
    cleanup.push(() => queue.close());
    const metrics = new PipelineMetrics();
    const states = new RedisStateStore(redis, keys, service.resultTtlSeconds, service.streamIdleTtlSeconds);
    const documents = new RedisDocumentStore(redis, keys, {
      retentionSeconds: service.resultTtlSeconds,
      partTtlSeconds: service.partTtlSeconds,
      maxDocumentBytes: settings.maxDocumentBytes,
    });
    const deps: PipelineDeps = {
      engine,
      settings,
      states,
      checkpoints: new Checkpointer(engine, states, metrics, name),
      documents,
      events: new RedisEventLog(redis, keys, {
        idleTtlSeconds: service.streamIdleTtlSeconds,
        maxStreams: service.maxStreams,
        maxWaitingEvents: service.maxStreamEvents,
      }),
      results: new RedisResultStore(
        redis,
        keys,
        service.resultTtlSeconds,
        service.streamHistoryBatches,
        service.streamIdleTtlSeconds,
      ),
      queue,
      resultSink: sinks.results,
      deadLetters: sinks.deadLetters,
      bodies: new UrlBodyReader({
        fileRoots: settings.fileRoots,
        timeoutMs: settings.refTimeoutMs,
        fetch: settings.fetch,
      }),
      telemetry: metrics,
      log,
    };
    if (service.batch.streams > 1) {
      // Chunk and drain jobs hand their model calls to one batcher; each job still loads, commits and enqueues
      // on its own. Their concurrent checkpoint reads and writes share the store connection, which pipelines them.
      const batcher = new ForwardBatcher(engine.model, service.batch, (b) =>
        metrics.forwardBatch(b.streams, b.tokens, b.seconds),
      );
      deps.forward = batcher.forward;
    }

    const processor = pipelineProcessor(deps);
    const queueErrors = new Throttle(60_000);
    const lanes: Lane[] = [];
    if (service.roles.includes('ingest')) lanes.push('ingest', 'fetch');
    if (service.roles.includes('chunks')) lanes.push('chunks');
    const workers = lanes.map((lane) => {
      const worker = new Worker(lane, processor, {
        connection: queueConnection,
        prefix: keys.queuePrefix,
        name,
        // Model work is bounded by the engine (its calls on one model are serialized); planning is I/O and tokenizing.
        // A batching worker keeps enough jobs in flight to fill a batch.
        // Fetches wait on other servers, in a small pool of their own.
        concurrency:
          lane === 'chunks'
            ? Math.max(service.concurrency, service.batch.streams)
            : lane === 'fetch'
              ? settings.fetch.pool
              : 1,
        lockDuration: service.lockMs,
        stalledInterval: service.stalledIntervalMs,
        maxStalledCount: 2,
      });
      worker.on('failed', (job, err) => {
        reportStalledFailure(job, err, deps).catch((e: Error) =>
          log.error({ err: e.message }, 'could not report a stalled job'),
        );
      });
      // During a Redis outage BullMQ reports every failed reconnect: one line per distinct error a minute is enough.
      worker.on('error', (err) =>
        queueErrors.report(err.message, () => log.error({ lane, err: err.message }, 'queue worker error')),
      );
      return worker;
    });
    cleanup.push(() => Promise.all(workers.map((w) => w.close())));

    let source: KafkaSource | InboxSource | null = null;
    if (service.roles.includes('ingest')) {
      source = kafka
        ? new KafkaSource(
            kafka.client,
            { groupId: service.groupId, documentsTopic: service.topics.documents, eventsTopic: service.topics.events },
            log,
          )
        : new InboxSource(queueConnection, { prefix: keys.queuePrefix, name, lockMs: service.lockMs }, log);
      // Stopped first on shutdown (cleanup runs in reverse), so no record is taken in while workers close.
      cleanup.push(() => source!.stop());
      await source.start({
        documents: (record) => ingestDocumentRecord(record, deps),
        events: (record) => ingestEventRecord(record, deps),
      });
      if (kafka) {
        const admin = kafka.admin;
        metrics.watchLag(() => consumerLag(admin, service.groupId, [service.topics.documents, service.topics.events]));
      }
      // Parts whose document never completed expire; each gets a failure record and a dead letter.
      const sweep = async () => {
        for (const id of await documents.takeAbandonedParts(ABANDONED_PER_SWEEP))
          await reportAbandonedParts(id, service.partTtlSeconds, deps);
      };
      const sweeper = setInterval(
        () => {
          sweep().catch((err: Error) =>
            queueErrors.report(err.message, () => log.warn({ err: err.message }, 'could not look for expired parts')),
          );
        },
        Math.min(60_000, Math.max(500, service.partTtlSeconds * 250)),
      );
      sweeper.unref();
      cleanup.push(async () => clearInterval(sweeper));
    }
    // Without Kafka the inbox is where submissions wait before ingest: its depth is the backlog an operator
    // watches, as consumer lag is with Kafka.
    const counted: { name: string; queue: Queue }[] = LANES.map((lane) => ({ name: lane, queue: queues[lane] }));
    if (!kafka && service.roles.includes('ingest')) {
      const inbox = new Queue(INBOX_QUEUE, { connection: queueConnection, prefix: keys.queuePrefix });
      counted.push({ name: INBOX_QUEUE, queue: inbox });
      cleanup.push(() => inbox.close());
    }
    metrics.watchQueues(() =>
      Promise.all(
        counted.map(async ({ name, queue }) => ({ queue: name, counts: await queue.getJobCounts(...COUNTED_STATES) })),
      ),
    );

    let server: MetricsServer | null = null;
    if (service.metricsPort !== null) {
      server = await startMetricsServer({
        host: service.metricsHost,
        port: service.metricsPort,
        fallbackPorts: options.metricsPortFallback ? METRICS_FALLBACK_PORTS : 0,
        log,
        registry: metrics.registry,
        status: (kind, id) => readStatus(redis, keys, kind, id),
        health: async () => {
          const pong = await redis.ping();
          // A crashed consumer takes nothing in (it is being started again): not healthy until it runs.
          // (The Kafka consumer; the inbox is read by a BullMQ worker, which restarts itself.)
          const consumer = source instanceof KafkaSource ? { state: source.state, restarts: source.restarts } : null;
          const consuming = !(source instanceof KafkaSource) || source.state === 'running';
          return {
            ok: pong === 'PONG' && workers.every((w) => w.isRunning()) && consuming,
            worker: name,
            roles: service.roles,
            consumer,
          };
        },
      });
      cleanup.push(() => server!.close());
    }

    log.info(
      {
        roles: service.roles,
        batch: service.batch.streams > 1 ? service.batch : null,
        prefix: service.prefix,
        // Where documents come from: the Kafka topics, or without Kafka the Redis inbox queue.
        ...(kafka ? { topics: service.topics } : { inbox: `${keys.queuePrefix}:${INBOX_QUEUE}` }),
        model: engine.model.info.fingerprint,
        tokenizer: engine.tokenizer.info.fingerprint,
        metricsPort: server?.port ?? null,
      },
      'worker ready',
    );
    return { name, metricsPort: server?.port ?? null, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
