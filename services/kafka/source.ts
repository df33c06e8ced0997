// DocumentSource on Kafka: one consumer group over the documents and events topics. Handlers are fast (they
// store and enqueue), so the consumer keeps polling and keeps its group membership. Offsets are committed
// after a handler returns: a record whose handler threw (Redis unreachable) is delivered again.
import type { Consumer } from 'kafkajs';

import type { DocumentSource, Log, RawRecord, RecordHandler } from '../../pipelines/ports.ts';
import type { KafkaClient } from './client.ts';

export interface KafkaSourceOptions {
  groupId: string;
  documentsTopic: string;
  eventsTopic: string;
  /** Partitions handled at once (order holds within each partition). */
  concurrency?: number;
}

export class KafkaSource implements DocumentSource {
  #consumer: Consumer | null = null;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly options: KafkaSourceOptions,
    private readonly log: Log,
  ) {}

  async start(handlers: { documents: RecordHandler; events: RecordHandler }): Promise<void> {
    const { groupId, documentsTopic, eventsTopic } = this.options;
    const consumer = this.kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [documentsTopic, eventsTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: this.options.concurrency ?? 3,
      eachMessage: async ({ topic, partition, message }) => {
        const record: RawRecord = {
          topic,
          partition,
          offset: message.offset,
          key: message.key ?? null,
          value: message.value ?? null,
          timestamp: message.timestamp,
        };
        try {
          await (topic === documentsTopic ? handlers.documents : handlers.events)(record);
        } catch (err) {
          this.log.warn({ topic, partition, offset: message.offset, err: (err as Error).message }, 'record not handled; it will be delivered again');
          throw err;
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
    this.#consumer = null;
  }
}
