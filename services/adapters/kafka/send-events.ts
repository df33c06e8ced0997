// Publishing a log as events: one event per line, keyed by its stream (so a stream's events stay in one
// partition, in order). The stream is fixed, or with a key field read from each JSON line, so one log can feed
// many streams. Lines go out in batches of records: a batch is sent when it is full, or as soon as the reader
// has nothing more to give (a live input's lines are not held back).
import type { Producer } from 'kafkajs';

import { EVENT_SCHEMA_V1, EventMessageSchema } from '../../../schemas/events.ts';
import { StreamIdSchema } from '../../../schemas/ids.ts';

export interface SendEventsOptions {
  topic: string;
  /** The stream of every line, or of the lines without the key field. */
  stream?: string;
  /** Read the stream id from this field of each line, a JSON object. */
  keyField?: string;
  /** Lines longer than this are not sent (the ingest side would refuse them). */
  maxEventBytes: number;
  /** Records per send. */
  batchRecords?: number;
  /** A line that cannot be sent, and why (it is skipped). */
  onSkipped(line: number, reason: string): void;
}

export interface SendLine {
  number: number;
  bytes: Buffer;
  /** The line was longer than the reader keeps. */
  cut: boolean;
}

/** The stream a line belongs to, or the reason it has none. */
export function streamOf(
  text: string,
  options: Pick<SendEventsOptions, 'stream' | 'keyField'>,
): { stream: string } | { skip: string } {
  if (options.keyField !== undefined) {
    let value: unknown;
    try {
      const parsed: unknown = JSON.parse(text);
      value =
        parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)[options.keyField]
          : undefined;
    } catch {
      value = undefined;
    }
    const key = typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    if (key !== undefined) {
      const id = StreamIdSchema.safeParse(key);
      if (id.success) return { stream: id.data };
      if (options.stream === undefined)
        return { skip: `its ${options.keyField} is not a stream id: ${id.error.issues[0]!.message}` };
    } else if (options.stream === undefined) {
      return { skip: `it is not a JSON object with a string or number "${options.keyField}"` };
    }
  }
  return { stream: options.stream! };
}

/**
 * Sends every line `lines` gives (an empty line is no event) and returns how many events went out. A batch is
 * sent when it holds `batchRecords` records, or when the next line is not there at once.
 */
export async function sendEvents(
  producer: Producer,
  lines: AsyncIterable<SendLine>,
  options: SendEventsOptions,
): Promise<number> {
  const batchRecords = options.batchRecords ?? 500;
  let pending: { key: string; value: string }[] = [];
  let sent = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const messages = pending;
    pending = [];
    await producer.send({ topic: options.topic, acks: -1, messages });
    sent += messages.length;
  };
  const it = lines[Symbol.asyncIterator]();
  let next = it.next();
  for (;;) {
    // A line that is not there by the next turn of the event loop is waited for; what is pending goes out first.
    let ready = await Promise.race([next, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
    if (ready === null) {
      await flush();
      ready = await next;
    }
    if (ready.done) break;
    next = it.next();
    const line = ready.value;
    if (line.bytes.length === 0) continue;
    if (line.cut || line.bytes.length > options.maxEventBytes) {
      options.onSkipped(line.number, `it is longer than ${options.maxEventBytes} bytes`);
      continue;
    }
    const text = line.bytes.toString('utf8');
    const target = streamOf(text, options);
    if ('skip' in target) {
      options.onSkipped(line.number, target.skip);
      continue;
    }
    const message = EventMessageSchema.parse({ schema: EVENT_SCHEMA_V1, stream: target.stream, text });
    pending.push({ key: target.stream, value: JSON.stringify(message) });
    if (pending.length >= batchRecords) await flush();
  }
  await flush();
  return sent;
}
