// Every port adapter held to one contract: the in-memory ones the pipeline tests run on, the embedded mode's
// files, and Redis (the real local server, a key prefix of its own per test). A fake that drifts from the
// Redis behaviour fails here, not in production.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe } from 'node:test';

import type { DocumentStore, EventLog, ResultStore, StateStore } from '../../pipelines/ports.ts';
import type { PipelineJob } from '../../schemas/jobs.ts';
import { BullJobQueue, LANES, openQueues } from '../../services/adapters/bullmq/job-queue.ts';
import { FileResultSink } from '../../services/adapters/files/result-sink.ts';
import { createProducer } from '../../services/adapters/kafka/client.ts';
import { KafkaDeadLetterSink, KafkaResultSink } from '../../services/adapters/kafka/sinks.ts';
import { MemoryDeadLetterSink } from '../../services/adapters/memory/dead-letters.ts';
import { MemoryDocumentStore } from '../../services/adapters/memory/document-store.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import { MemoryJobQueue } from '../../services/adapters/memory/queue.ts';
import { MemoryResultSink } from '../../services/adapters/memory/result-sink.ts';
import { MemoryResultStore } from '../../services/adapters/memory/result-store.ts';
import { MemoryStateStore } from '../../services/adapters/memory/state-store.ts';
import { RedisDeadLetterSink, RedisResultSink } from '../../services/adapters/redis/sinks.ts';
import { FileDocumentStore } from '../../services/adapters/files/document-store.ts';
import { FileResultStore } from '../../services/adapters/files/result-store.ts';
import { FileStateStore } from '../../services/adapters/files/state-store.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisDocumentStore } from '../../services/adapters/redis/document-store.ts';
import { RedisEventLog } from '../../services/adapters/redis/event-log.ts';
import { RedisResultStore } from '../../services/adapters/redis/result-store.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import {
  clearPrefix,
  createTopics,
  deleteTopics,
  kafkaClient,
  redisUrl,
  TopicCollector,
  topicsFor,
  uniqueName,
} from '../integration/helpers/services.ts';
import { CONTRACT_MAX_DOCUMENT_BYTES, documentStoreContract } from './document-store.contract.ts';
import { eventLogContract } from './event-log.contract.ts';
import { jobQueueContract, type QueueDriver } from './job-queue.contract.ts';
import { resultStoreContract } from './result-store.contract.ts';
import {
  deadLetterSinkContract,
  resultSinkContract,
  type DeadLetterSinkDriver,
  type ResultSinkDriver,
} from './sinks.contract.ts';
import { stateStoreContract, type Factory } from './state-store.contract.ts';

function memory<T>(make: () => T): Factory<T> {
  return async () => ({ port: make(), close: async () => {} });
}

function inDirectory<T>(make: (dir: string) => Promise<T>): Factory<T> {
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rwkvstream-ports-'));
    return { port: await make(dir), close: () => rm(dir, { recursive: true, force: true }) };
  };
}

function onRedis<T>(make: (redis: Redis, keys: Keys) => T): Factory<T> {
  return async () => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    const keys = new Keys(uniqueName('ports'));
    return {
      port: make(redis, keys),
      close: async () => {
        await clearPrefix(keys.prefix);
        redis.disconnect();
      },
    };
  };
}

stateStoreContract(
  'memory',
  memory<StateStore>(() => new MemoryStateStore()),
  { fencesDroppedState: true },
);
stateStoreContract(
  'files',
  inDirectory<StateStore>((dir) => FileStateStore.open(dir)),
  { fencesDroppedState: false },
);
stateStoreContract(
  'redis',
  onRedis<StateStore>((redis, keys) => new RedisStateStore(redis, keys)),
  { fencesDroppedState: true },
);

resultStoreContract(
  'memory',
  memory<ResultStore>(() => new MemoryResultStore()),
);
resultStoreContract(
  'files',
  inDirectory<ResultStore>(async (dir) => new FileResultStore(dir)),
);
resultStoreContract(
  'redis',
  onRedis<ResultStore>((redis, keys) => new RedisResultStore(redis, keys, 3600)),
);

eventLogContract(
  'memory',
  memory<EventLog>(() => new MemoryEventLog(new MemoryStateStore())),
);
eventLogContract(
  'redis',
  onRedis<EventLog>((redis, keys) => new RedisEventLog(redis, keys)),
);

const maxDocumentBytes = CONTRACT_MAX_DOCUMENT_BYTES;
documentStoreContract(
  'memory',
  memory<DocumentStore>(() => new MemoryDocumentStore({ maxDocumentBytes })),
);
documentStoreContract(
  'files',
  inDirectory<DocumentStore>((dir) => FileDocumentStore.open(dir, { maxDocumentBytes })),
);
documentStoreContract(
  'redis',
  onRedis<DocumentStore>(
    (redis, keys) =>
      new RedisDocumentStore(redis, keys, { retentionSeconds: 3600, partTtlSeconds: 3600, maxDocumentBytes }),
  ),
);

jobQueueContract(
  'memory',
  memory<QueueDriver>(() => {
    const queue = new MemoryJobQueue();
    return { queue, take: async () => queue.take(), waiting: async () => queue.size };
  }),
  { delaysElapse: false },
);

/** BullJobQueue on the real Redis, its queues under a prefix of their own, taken from by manual workers. */
const onBullMQ: Factory<QueueDriver> = async () => {
  const prefix = uniqueName('queue');
  // Workers need a connection that retries without limit (BullMQ refuses one that gives up).
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queues = openQueues(connection, prefix);
  const queue = new BullJobQueue(queues, { attempts: 1, backoffMs: 100 });
  const workers = LANES.map((lane) => new Worker<PipelineJob>(lane, null, { connection, prefix, autorun: false }));
  const token = uniqueName('worker');
  return {
    port: {
      queue,
      take: async () => {
        for (const worker of workers) {
          const job = await worker.getNextJob(token, { block: false });
          if (!job) continue;
          await job.moveToCompleted('done', token, false);
          return job.data;
        }
        return null;
      },
      waiting: async () => {
        let n = 0;
        for (const lane of LANES) {
          const counts = await queues[lane].getJobCounts('wait', 'delayed', 'prioritized');
          n += Object.values(counts).reduce((a, b) => a + b, 0);
        }
        return n;
      },
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      await clearPrefix(prefix);
      connection.disconnect();
    },
  };
};
jobQueueContract('bullmq', onBullMQ, { delaysElapse: true });

resultSinkContract(
  'memory',
  memory<ResultSinkDriver>(() => {
    const sink = new MemoryResultSink();
    return { sink, read: async () => sink.results.map(({ key, json }) => ({ key, json })) };
  }),
  { keepsKeys: true, dropsRepeats: false },
);
deadLetterSinkContract(
  'memory',
  memory<DeadLetterSinkDriver>(() => {
    const sink = new MemoryDeadLetterSink();
    return { sink, read: async () => [...sink.letters] };
  }),
);

resultSinkContract(
  'files',
  inDirectory<ResultSinkDriver>(async (dir) => ({
    sink: await FileResultSink.open(dir),
    // Read back through a sink opened again: what a resumed job finds in its directory.
    read: async () => {
      const out = [];
      for await (const json of (await FileResultSink.open(dir)).results()) out.push({ key: null, json });
      return out;
    },
  })),
  { keepsKeys: false, dropsRepeats: true },
);

/** The entries of a Redis stream, oldest first, as field maps. */
async function streamEntries(redis: Redis, stream: string): Promise<Record<string, string>[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
    return out;
  });
}

resultSinkContract(
  'redis',
  onRedis<ResultSinkDriver>((redis, keys) => ({
    sink: new RedisResultSink(redis, keys.resultStream(), 1000),
    read: async () =>
      (await streamEntries(redis, keys.resultStream())).map((e) => ({ key: e.key ?? null, json: e.json ?? '' })),
  })),
  { keepsKeys: true, dropsRepeats: false },
);
deadLetterSinkContract(
  'redis',
  onRedis<DeadLetterSinkDriver>((redis, keys) => ({
    sink: new RedisDeadLetterSink(redis, keys.deadLetterStream(), 1000),
    read: async () =>
      (await streamEntries(redis, keys.deadLetterStream())).map((e) => JSON.parse(e.json ?? 'null') as unknown),
  })),
);

// The project's broker (infra/kafka/start.sh prints its address for KAFKA_BROKERS).
const brokers =
  process.env.KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0) ?? [];

/** Kafka sinks on topics of their own (one partition: one order), read back by a consumer from the start. */
function onKafka<T>(
  make: (
    producer: ReturnType<typeof createProducer>,
    topics: ReturnType<typeof topicsFor>,
    read: (topic: string, count: number) => Promise<{ key: string | null; value: string }[]>,
  ) => T,
): Factory<T> {
  return async () => {
    const topics = topicsFor(uniqueName('sinks'));
    await createTopics(brokers, topics, 1);
    const producer = createProducer(kafkaClient(brokers));
    await producer.connect();
    let collector: TopicCollector | null = null;
    const read = async (topic: string, count: number) => {
      if (!collector) {
        collector = new TopicCollector();
        await collector.start(brokers, [topics.results, topics.deadLetter]);
      }
      return collector.waitFor(topic, (records) => records.length >= count, 30_000);
    };
    return {
      port: make(producer, topics, read),
      close: async () => {
        await (collector as TopicCollector | null)?.stop();
        await producer.disconnect();
        await deleteTopics(brokers, topics);
      },
    };
  };
}

describe('kafka sinks', {
  skip:
    brokers.length === 0 &&
    "KAFKA_BROKERS is not set (infra/kafka/start.sh starts the project's broker and prints its address)",
}, () => {
  resultSinkContract(
    'kafka',
    onKafka<ResultSinkDriver>((producer, topics, read) => ({
      sink: new KafkaResultSink(producer, topics.results),
      read: async (count) => (await read(topics.results, count)).map((r) => ({ key: r.key, json: r.value })),
    })),
    { keepsKeys: true, dropsRepeats: false },
  );
  deadLetterSinkContract(
    'kafka',
    onKafka<DeadLetterSinkDriver>((producer, topics, read) => ({
      sink: new KafkaDeadLetterSink(producer, topics.deadLetter),
      read: async (count) => (await read(topics.deadLetter, count)).map((r) => JSON.parse(r.value) as unknown),
    })),
  );
});
