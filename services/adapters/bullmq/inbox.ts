// The inbox: a BullMQ queue under the deployment's prefix that stands in for the Kafka documents and events
// topics when a deployment has no Kafka. `submit` adds one job per record, carrying exactly the bytes it would
// have published; a worker's ingest role takes them in through the same ingest functions (schema, size and
// key checks, the document store's deduplication of parts, dead letters and failure records), so a record
// means the same whichever way it came.
import { randomUUID } from 'node:crypto';

import { Queue, Worker, type Job } from 'bullmq';

import type { RecordSource, Log, RawRecord, RecordHandler } from '../../../pipelines/ports.ts';
import type { RecordPublisher } from '../../submit/submit-document.ts';
import type { RedisClient } from '../redis/access.ts';

export const INBOX_QUEUE = 'inbox';

/** What the job's data holds; a job written by anything else is still taken in and refused by ingest. */
export interface InboxRecord {
  topic: 'documents' | 'events';
  key: string | null;
  value: string;
}

/** Taken-in records leave the queue at once (ingest stored what it needs); refused ones are dead-lettered. */
const KEEP_FAILED = { age: 7 * 24 * 3600 };

/** A job id unique per record that begins `<topic>~<key>~` (keys are ids: no ':' that BullMQ would refuse). */
export function inboxJobId(topic: InboxRecord['topic'], key: string): string {
  return `${topic}~${key}~${randomUUID()}`;
}

/** Puts records on the inbox queue (submit without Kafka). */
export class InboxPublisher implements RecordPublisher {
  readonly #queue: Queue;

  constructor(
    connection: RedisClient,
    prefix: string,
    private readonly topic: InboxRecord['topic'] = 'documents',
  ) {
    this.#queue = new Queue(INBOX_QUEUE, { connection, prefix });
  }

  async publish(key: string, value: string): Promise<void> {
    const data: InboxRecord = { topic: this.topic, key, value };
    // The job id starts with the record's key, so status can name the worker taking a document's part in.
    await this.#queue.add(this.topic, data, {
      jobId: inboxJobId(this.topic, key),
      removeOnComplete: true,
      removeOnFail: KEEP_FAILED,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
    });
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

/** A job's data as a record, read defensively: a missing or non-string value becomes "no value" (refused by ingest). */
export function inboxRecord(job: Job): { documents: boolean; record: RawRecord } {
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Partial<
    Record<keyof InboxRecord, unknown>
  >;
  const documents = data.topic !== 'events';
  return {
    documents,
    record: {
      topic: `${INBOX_QUEUE}.${documents ? 'documents' : 'events'}`,
      partition: 0,
      offset: String(job.id ?? ''),
      key: typeof data.key === 'string' ? Buffer.from(data.key, 'utf8') : null,
      value: typeof data.value === 'string' ? Buffer.from(data.value, 'utf8') : null,
      timestamp: String(job.timestamp),
    },
  };
}

/** RecordSource on the inbox queue: one job at a time, so a document's parts are taken in in the order sent. */
export class InboxSource implements RecordSource {
  #worker: Worker | null = null;

  constructor(
    private readonly connection: RedisClient,
    private readonly options: { prefix: string; name: string; lockMs: number },
    private readonly log: Log,
  ) {}

  async start(handlers: { documents: RecordHandler; events: RecordHandler }): Promise<void> {
    this.#worker = new Worker(
      INBOX_QUEUE,
      async (job) => {
        const { documents, record } = inboxRecord(job);
        try {
          // A refused record is dead-lettered by the handler, which then returns; only store trouble throws.
          await (documents ? handlers.documents : handlers.events)(record);
        } catch (err) {
          this.log.warn(
            { job: job.id, err: (err as Error).message },
            'inbox record not handled; it will be taken again',
          );
          throw err;
        }
      },
      {
        connection: this.connection,
        prefix: this.options.prefix,
        name: this.options.name,
        concurrency: 1,
        lockDuration: this.options.lockMs,
      },
    );
    this.#worker.on('error', (err) => this.log.error({ queue: INBOX_QUEUE, err: err.message }, 'inbox worker error'));
  }

  async stop(): Promise<void> {
    await this.#worker?.close();
    this.#worker = null;
  }
}
