// Submitting a document: a reference as one record; a file as one record when it is small, else as ordered
// parts (keyed by the document id, so on Kafka they share a partition and arrive in order). Parts are cut at
// UTF-8 character boundaries and sent as text; bytes that are not valid UTF-8 travel as base64. The records
// are the same whether they go to the Kafka documents topic or to the Redis inbox queue.
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';

import { DOCUMENT_SCHEMA_V1, DocumentMessageSchema, type DocumentMessageInput } from '../../schemas/documents.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';

/** Where the records go: the Kafka documents topic or the Redis inbox queue. */
export interface RecordPublisher {
  /** Sends one record, keyed by the document id; resolves once the receiving side has it. */
  publish(key: string, value: string): Promise<void>;
}

export interface SubmitOptions {
  id: string;
  task: DocumentTask;
  /** Largest record to send (the ingest side refuses larger ones). */
  maxMessageBytes: number;
  /** Bytes of the document per part. */
  partBytes: number;
}

/** Length of the prefix of `bytes` that does not end inside a UTF-8 sequence. */
export function utf8Boundary(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

async function send(publisher: RecordPublisher, options: SubmitOptions, message: DocumentMessageInput): Promise<void> {
  const value = JSON.stringify(DocumentMessageSchema.parse(message));
  if (Buffer.byteLength(value) > options.maxMessageBytes) {
    throw new Error(
      `a record of ${Buffer.byteLength(value)} bytes exceeds the limit of ${options.maxMessageBytes}; use smaller parts`,
    );
  }
  await publisher.publish(options.id, value);
}

export async function submitReference(publisher: RecordPublisher, options: SubmitOptions, url: string): Promise<void> {
  await send(publisher, options, {
    schema: DOCUMENT_SCHEMA_V1,
    id: options.id,
    task: options.task,
    body: { kind: 'ref', url },
  });
}

/** Sends `bytes` as one part; as text when that fits in a record, else as base64. */
async function sendPart(
  publisher: RecordPublisher,
  options: SubmitOptions,
  index: number,
  final: boolean,
  bytes: Buffer,
): Promise<void> {
  const base = { schema: DOCUMENT_SCHEMA_V1, id: options.id, ...(final ? { task: options.task } : {}) } as const;
  if (isUtf8(bytes)) {
    const text: DocumentMessageInput = {
      ...base,
      body: { kind: 'part', index, final, encoding: 'utf8', data: bytes.toString('utf8') },
    };
    // JSON escapes can make text several times larger than its bytes (control characters); base64 is bounded.
    if (Buffer.byteLength(JSON.stringify(text)) <= options.maxMessageBytes) return send(publisher, options, text);
  }
  await send(publisher, options, {
    ...base,
    body: { kind: 'part', index, final, encoding: 'base64', data: bytes.toString('base64') },
  });
}

/** Publishes a file; returns the number of records sent. */
export async function submitFile(publisher: RecordPublisher, options: SubmitOptions, file: string): Promise<number> {
  let pending: Buffer = Buffer.alloc(0);
  let held: Buffer | null = null;
  let index = 0;
  // One part is held back until the next exists, so the last one can be marked final.
  const emit = async (part: Buffer) => {
    if (held) await sendPart(publisher, options, index++, false, held);
    held = part;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: options.partBytes })) {
    pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= options.partBytes) {
      let cut = utf8Boundary(pending.subarray(0, options.partBytes));
      if (cut === 0) cut = options.partBytes;
      await emit(pending.subarray(0, cut));
      pending = pending.subarray(cut);
    }
  }
  if (pending.length > 0) await emit(pending);
  const last = held as Buffer | null;
  if (last === null) throw new Error(`${file} is empty`);
  if (index === 0 && isUtf8(last)) {
    const whole: DocumentMessageInput = {
      schema: DOCUMENT_SCHEMA_V1,
      id: options.id,
      task: options.task,
      body: { kind: 'text', text: last.toString('utf8') },
    };
    if (Buffer.byteLength(JSON.stringify(whole)) <= options.maxMessageBytes) {
      await send(publisher, options, whole);
      return 1;
    }
  }
  await sendPart(publisher, options, index++, true, last);
  return index;
}
