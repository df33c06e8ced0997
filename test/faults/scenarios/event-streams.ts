// Event streams for the fault scenarios: deterministic log lines, their records, and the check that a stream
// disturbed by a fault was scored exactly like a control stream of the same events that was not. Workers run
// with one event per batch (EVENT_WORKER_ARGS), so batch boundaries, and with them every byte of a batch
// result, depend on the events alone and not on timing.
import type { Producer } from 'kafkajs';

import { EVENT_SCHEMA_V1 } from '../../../schemas/events.ts';
import { AnomalyResultSchema } from '../../../schemas/results.ts';
import type { Cluster } from '../cluster.ts';

export const EVENT_WORKER_ARGS = ['--batch-events', '1', '--batch-ms', '50'];

export interface StreamEvent {
  id: string;
  text: string;
}

/** `count` events of a stream, every one with an id; the ids are the same for any stream name. */
export function streamEvents(count: number, salt = 0): StreamEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `ev-${i}`,
    text:
      i % 11 === 7
        ? 'kernel: segfault at 0000 ip 00007f ~~QZX'
        : `GET /api/${(i + salt) % 4}/${i % 3} 200 ${10 + ((i * 3 + salt) % 9)}ms`,
  }));
}

export function eventRecord(stream: string, event: StreamEvent): { key: string; value: string } {
  return { key: stream, value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text: event.text, id: event.id }) };
}

/** Sends events in order, one record each (retrying a send that fails, e.g. while a broker is down). */
export async function sendEvents(
  producer: Producer,
  topic: string,
  stream: string,
  events: StreamEvent[],
  retryFor = 0,
): Promise<number> {
  let failures = 0;
  for (const event of events)
    failures += await sendWithRetry(
      () => producer.send({ topic, acks: -1, messages: [eventRecord(stream, event)] }),
      retryFor,
    );
  return failures;
}

/** Runs `send` until it succeeds or `retryFor` ms have passed; returns how many tries failed. */
export async function sendWithRetry(send: () => Promise<unknown>, retryFor: number): Promise<number> {
  const deadline = Date.now() + retryFor;
  for (let failures = 0; ; failures++) {
    try {
      await send();
      return failures;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** The batch results of a stream on the results topic: every copy published, by batch number. */
export function streamCopies(cluster: Cluster, stream: string): Map<number, string[]> {
  const copies = new Map<number, string[]>();
  for (const value of cluster.resultsOf(stream)) {
    const batch = AnomalyResultSchema.parse(JSON.parse(value)).batch;
    copies.set(batch, [...(copies.get(batch) ?? []), value]);
  }
  return copies;
}

/** How many distinct events a stream's published batches scored so far. */
export function scoredCount(cluster: Cluster, stream: string): number {
  let n = 0;
  for (const [, values] of streamCopies(cluster, stream))
    n += AnomalyResultSchema.parse(JSON.parse(values[0]!)).events.length;
  return n;
}

export async function waitScored(cluster: Cluster, stream: string, count: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (scoredCount(cluster, stream) < count) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/**
 * A batch result with what legitimately differs between two streams of the same events removed: the stream id
 * and each event's Kafka coordinates (they were different records). Nothing else is touched.
 */
function comparable(json: string): string {
  const result = AnomalyResultSchema.parse(JSON.parse(json));
  return JSON.stringify({
    ...result,
    id: '',
    events: result.events.map(({ partition: _p, offset: _o, ...rest }) => rest),
  });
}

export interface StreamVerdict {
  /** What was wrong (null: every event scored once, each batch byte-identical to the control's). */
  problem: string | null;
  /** Extra byte-identical copies of a batch (at-least-once publishing). */
  republished: number;
}

/** Compares a disturbed stream with the control stream of the same events, batch by batch. */
export function compareWithControl(cluster: Cluster, control: string, stream: string, expected: number): StreamVerdict {
  const letters = cluster.deadLettersOf(stream);
  if (letters.length > 0) return { problem: `dead-lettered: ${letters[0]!.slice(0, 200)}`, republished: 0 };
  const reference = streamCopies(cluster, control);
  const copies = streamCopies(cluster, stream);
  let republished = 0;
  const seen = new Set<string>();
  for (let batch = 0; batch < Math.max(expected, copies.size); batch++) {
    const values = copies.get(batch);
    if (!values)
      return { problem: `batch ${batch} missing (${copies.size} batches, ${expected} expected)`, republished };
    if (new Set(values).size > 1) return { problem: `batch ${batch} published with different bytes`, republished };
    republished += values.length - 1;
    const events = AnomalyResultSchema.parse(JSON.parse(values[0]!)).events;
    for (const e of events) {
      const key = `${e.partition}/${e.offset}`;
      if (seen.has(key) || seen.has(`id:${e.id}`))
        return { problem: `event ${e.id} (${key}) scored twice`, republished };
      seen.add(key);
      seen.add(`id:${e.id}`);
    }
    const want = reference.get(batch)?.[0];
    if (want === undefined) return { problem: `the control stream has no batch ${batch}`, republished };
    if (comparable(values[0]!) !== comparable(want)) {
      return {
        problem: `batch ${batch} differs from the undisturbed run: ${comparable(values[0]!).slice(0, 200)} vs ${comparable(want).slice(0, 200)}`,
        republished,
      };
    }
  }
  if (copies.size !== expected) return { problem: `${copies.size} batches for ${expected} events`, republished };
  return { problem: null, republished };
}
