// The real services integration tests run against: the project's Kafka broker (started through
// infra/kafka/start.sh, left running for the next test file; CI stops it) and a Redis (RWKVSTREAM_TEST_REDIS,
// default the local one). Every run gets its own key prefix, queue names and topics, and removes them after.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';

import kafkajs, { type Consumer, type Kafka } from 'kafkajs';

import { TopicsSchema, type Topics } from '../../../schemas/config.ts';
import type { KafkaAccess } from '../../../services/adapters/kafka/security.ts';
import { ensureTopics } from '../../../services/adapters/kafka/topics.ts';
import { createRedis, plainRedis, type RedisAccess } from '../../../services/adapters/redis/access.ts';
import { repoRoot } from '../../helpers/paths.ts';

const run = promisify(execFile);

export const redisUrl = process.env.RWKVSTREAM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

let brokerAddress: Promise<string[]> | null = null;

/** The broker's bootstrap address; starts it on first use (start.sh is idempotent and waits for readiness). */
export function kafkaBrokers(): Promise<string[]> {
  brokerAddress ??= run(path.join(repoRoot, 'infra', 'kafka', 'start.sh'), [], { timeout: 180_000 }).then(
    ({ stdout }) => {
      const address = stdout.trim().split('\n').at(-1)!;
      if (!/^[\w.-]+:\d+$/.test(address)) throw new Error(`infra/kafka/start.sh printed "${stdout}"`);
      return [address];
    },
  );
  return brokerAddress;
}

export function uniqueName(what: string): string {
  return `t-${what}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** TLS and SASL of a secured broker (none: plaintext). */
export type KafkaSecurity = Pick<KafkaAccess, 'ssl' | 'sasl'>;

export function kafkaClient(brokers: string[], security: KafkaSecurity = {}): Kafka {
  return new kafkajs.Kafka({ clientId: 'rwkvstream-test', brokers, ...security, logLevel: kafkajs.logLevel.NOTHING });
}

export function topicsFor(prefix: string): Topics {
  return TopicsSchema.parse({
    documents: `${prefix}.documents`,
    events: `${prefix}.events`,
    results: `${prefix}.results`,
    deadLetter: `${prefix}.dead-letter`,
  });
}

export async function createTopics(
  brokers: string[],
  topics: Topics,
  partitions = 2,
  security: KafkaSecurity = {},
): Promise<void> {
  const admin = kafkaClient(brokers, security).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, partitions);
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(brokers: string[], topics: Topics, security: KafkaSecurity = {}): Promise<void> {
  const admin = kafkaClient(brokers, security).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(topics), timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Removes every Redis key of a test prefix (store keys and BullMQ queues alike); gives up after 10 s, so a
 * tear-down does not hang on a Redis that is down (its keys then die with its data directory).
 */
export async function clearPrefix(prefix: string, where: string | RedisAccess = redisUrl): Promise<void> {
  const access = typeof where === 'string' ? plainRedis(where) : where;
  const redis = createRedis(access, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (n) => (n > 3 ? null : 500),
  });
  redis.on('error', () => {});
  // A cluster's keys are spread over its masters (and its queues are under {prefix}); a node's keys are in
  // many slots, so they go one at a time there.
  const nodes = 'nodes' in redis ? (await redis.ping(), redis.nodes('master')) : [redis];
  const patterns = access.cluster ? [`${prefix}:*`, `{${prefix}}:*`] : [`${prefix}:*`];
  const scan = async () => {
    for (const node of nodes) {
      for (const pattern of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0 && access.cluster) for (const key of keys) await node.unlink(key);
          else if (keys.length > 0) await node.unlink(...keys);
        } while (cursor !== '0');
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`could not clear ${prefix}:* on ${access.url} in 10 s`)), 10_000);
  });
  try {
    await Promise.race([scan(), limit]);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

export interface Collected {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** Collects everything published to some topics, from their beginning, for tests to wait on. */
export class TopicCollector {
  readonly records = new Map<string, Collected[]>();
  #consumer: Consumer | null = null;

  /** `client`: a client of a secured broker (default: a plain one of `brokers`). */
  async start(brokers: string[], topics: string[], client: Kafka = kafkaClient(brokers)): Promise<void> {
    for (const t of topics) this.records.set(t, []);
    const consumer = client.consumer({ groupId: uniqueName('collector'), maxWaitTimeInMs: 200 });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        this.records
          .get(topic)!
          .push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
      },
    });
    await ready;
  }

  /** Waits until `predicate` holds for the records of `topic`; returns them. */
  async waitFor(topic: string, predicate: (records: Collected[]) => boolean, timeoutMs = 60_000): Promise<Collected[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const records = this.records.get(topic) ?? [];
      if (predicate(records)) return records;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${topic}: have ${records.length} records`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
  }
}
