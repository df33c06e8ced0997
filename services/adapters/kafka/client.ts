// The one place kafkajs is configured: clients log through pino, producers use the Java client's partitioner
// (a key lands on the same partition whoever produced it), and a broker that does not answer becomes one
// line that says what to do.
import { setTimeout as sleep } from 'node:timers/promises';

import kafkajs, { type Kafka as KafkaClient, type LogEntry, type Producer } from 'kafkajs';

import type { Log } from '../../../pipelines/ports.ts';
import { UnreachableError, backoffMs, unreachable } from '../../service-errors.ts';
import { kafkaConnection, type KafkaAccess } from './security.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

export type { KafkaClient };

/**
 * States a broker passes through normally (a fresh broker electing leaders and loading its group coordinator,
 * a topic just created, a consumer group rebalancing): kafkajs retries them and logs them as errors, but they
 * are not anyone's problem, so they are logged at info.
 */
const TRANSIENT = [
  /group coordinator is not available/i,
  /coordinator is loading/i,
  /not the correct coordinator/i,
  /leadership election/i,
  /no leader for this topic-partition/i,
  /leader is not available/i,
  /not the leader for that topic-partition/i,
  /does not host this topic-partition/i,
  /rebalance in progress/i,
  /is not a member of the group/i,
  /group is rebalancing/i,
];

export function isTransient(entry: { message?: string; error?: unknown }): boolean {
  const text = `${entry.message ?? ''} ${typeof entry.error === 'string' ? entry.error : ''}`;
  return TRANSIENT.some((re) => re.test(text));
}

export function logCreator(log: Log) {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      const fields = { kafka: namespace, ...extra };
      if (level <= logLevel.WARN && isTransient(entry)) log.info(fields, message);
      else if (level <= logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    };
}

export function createKafka(access: KafkaAccess, clientId: string, log: Log): KafkaClient {
  return new Kafka({
    clientId,
    ...kafkaConnection(access),
    logLevel: logLevel.WARN,
    logCreator: logCreator(log.child({ component: 'kafka' })),
  });
}

/** An idempotent producer: retries after a lost acknowledgement do not duplicate records. */
export function createProducer(kafka: KafkaClient): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** One look for a broker: connect and fetch the cluster's metadata, quickly and without kafkajs's retries. */
async function probe(access: KafkaAccess): Promise<void> {
  const admin = new Kafka({
    clientId: 'rwkvstream-probe',
    ...kafkaConnection(access),
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** A command's check that a broker answers: one try, then an UnreachableError naming the brokers and their setting. */
export async function requireKafka(access: KafkaAccess): Promise<void> {
  try {
    await probe(access);
  } catch (err) {
    throw new UnreachableError('kafka', access.brokers.join(','), access.origin, err);
  }
}

/** A worker's start: up to `attempts` tries with a growing wait, one log line per failed attempt. */
export async function waitForKafka(
  access: KafkaAccess,
  attempts: number,
  log: Log,
  signal?: AbortSignal,
): Promise<void> {
  const brokers = access.brokers.join(',');
  const address = access;
  for (let attempt = 1; ; attempt++) {
    try {
      await probe(access);
      return;
    } catch (err) {
      if (attempt >= attempts)
        throw new UnreachableError('kafka', brokers, address.origin, err, ` (${attempts} attempts)`);
      const wait = backoffMs(attempt);
      log.warn(
        { attempt, of: attempts },
        `${unreachable('kafka', brokers, address.origin, err)}; retrying in ${wait / 1000} s`,
      );
      await sleep(wait, undefined, signal ? { signal } : {});
    }
  }
}
