// The records the distributed mode takes from Kafka, made from an embedded job's input, so the same ingest
// handlers validate and store them. A document is one record that refers to the file (FileSource); a log line
// is one event record (eventRecord), its offset being the line number, so a score can be traced to its line.
import type { RecordSource, RawRecord, RecordHandler } from '../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';

export type SourceInput = { kind: 'document'; id: string; task: DocumentTask; url: string };

function record(topic: string, partition: number, offset: number, key: string, value: object): RawRecord {
  return {
    topic,
    partition,
    offset: String(offset),
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: String(Date.now()),
  };
}

/**
 * The record of one log line: its topic is the input's name, its partition the file's generation (a rotated
 * log's next file is a new one), its offset the line number.
 */
export function eventRecord(topic: string, generation: number, line: number, stream: string, text: string): RawRecord {
  return record(topic, generation, line, stream, { schema: EVENT_SCHEMA_V1, stream, text });
}

export class FileSource implements RecordSource {
  readonly #input: SourceInput;
  /** The records' topic: the input's name. */
  readonly #topic: string;

  constructor(input: SourceInput, topic: string) {
    this.#input = input;
    this.#topic = topic;
  }

  #record(key: string, offset: number, value: object): RawRecord {
    return record(this.#topic, 0, offset, key, value);
  }

  /** Delivers the input's one document record, then resolves. */
  async start(handlers: { documents: RecordHandler; events: RecordHandler }): Promise<void> {
    const input = this.#input;
    const message = {
      schema: DOCUMENT_SCHEMA_V1,
      id: input.id,
      task: input.task,
      body: { kind: 'ref', url: input.url },
    };
    await handlers.documents(this.#record(input.id, 0, message));
  }

  /** Nothing to stop: start() has delivered the one record by the time it resolves. */
  async stop(): Promise<void> {}
}
