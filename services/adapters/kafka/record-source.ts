// RecordSource on Kafka: one consumer group over the documents and events topics. Handlers are fast (they
// store and enqueue), so the consumer keeps polling and keeps its group membership. Offsets are committed
// after a handler returns: a record whose handler threw (Redis unreachable) is delivered again.
import type { Consumer } from 'kafkajs';

import type { RecordSource, Log, RawRecord, RecordHandler } from '../../../pipelines/ports.ts';
import type { KafkaClient } from './client.ts';

export interface KafkaSourceOptions {
  groupId: string;
  documentsTopic: string;
  eventsTopic: string;
  /** Partitions handled at once (order holds within each partition). */
  concurrency?: number;
}

/** Where the consumer stands, for /healthz: a crashed consumer takes nothing in until it is restarted. */
export type ConsumerState = 'starting' | 'running' | 'crashed' | 'stopped';

/** Wait before a consumer that crashed for good (kafkajs does not restart it) is started again. */
const RESTART_DELAY_MS = 2000;

export class KafkaSource implements RecordSource {
  #consumer: Consumer | null = null;
  #state: ConsumerState = 'starting';
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | null = null;

  get state(): ConsumerState {
    return this.#state;
  }

  /** Times the consumer was started again after a crash. */
  get restarts(): number {
    return this.#restarts;
  }

  constructor(
    private readonly kafka: KafkaClient,
    private readonly options: KafkaSourceOptions,
    private readonly log: Log,
  ) {}

  async start(handlers: { documents: RecordHandler; events: RecordHandler }): Promise<void> {
    const { groupId, documentsTopic, eventsTopic } = this.options;
    const consumer = this.kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    this.#consumer = consumer;
    // kafkajs restarts a consumer after a retriable crash by itself; after any other it stays down, and
    // nothing would be taken in again: this one is started again (its offsets were committed as it went).
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.#consumer !== consumer) return;
      this.#state = 'crashed';
      this.log.error(
        { err: payload.error?.message },
        `the Kafka consumer crashed; starting it again in ${RESTART_DELAY_MS / 1000} s`,
      );
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (this.#consumer !== consumer) return;
        this.#restarts++;
        consumer
          .disconnect()
          .catch(() => {})
          .then(() => this.start(handlers))
          .catch((err: Error) => this.log.error({ err: err.message }, 'the Kafka consumer could not be started again'));
      }, RESTART_DELAY_MS);
    });
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
          this.log.warn(
            { topic, partition, offset: message.offset, err: (err as Error).message },
            'record not handled; it will be delivered again',
          );
          throw err;
        }
      },
    });
    if (this.#consumer === consumer) this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const consumer = this.#consumer;
    this.#consumer = null;
    this.#state = 'stopped';
    await consumer?.disconnect();
  }
}
