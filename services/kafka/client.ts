// The one place kafkajs is configured: clients log through pino, and producers use the Java client's
// partitioner, so a key lands on the same partition whoever produced it.
import kafkajs, { type Kafka as KafkaClient, type LogEntry, type Producer } from 'kafkajs';

import type { Log } from '../../pipelines/ports.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

export type { KafkaClient };

function logCreator(log: Log) {
  return () => ({ namespace, level, log: entry }: LogEntry) => {
    const { message, ...extra } = entry;
    const fields = { kafka: namespace, ...extra };
    if (level <= logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else log.debug(fields, message);
  };
}

export function createKafka(brokers: string[], clientId: string, log: Log): KafkaClient {
  return new Kafka({ clientId, brokers, logLevel: logLevel.WARN, logCreator: logCreator(log.child({ component: 'kafka' })) });
}

/** An idempotent producer: retries after a lost acknowledgement do not duplicate records. */
export function createProducer(kafka: KafkaClient): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}
