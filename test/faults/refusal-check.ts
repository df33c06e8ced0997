// Sending records the product must refuse, and checking each refusal as observed on the dead-letter topic:
// the expected code, a reason that names what was wrong, and (for records refused at ingest) the original bytes
// and where the record came from.
import kafkajs from 'kafkajs';

import { DeadLetterSchema, type DeadLetter } from '../../schemas/dead-letter.ts';
import { kafkaClient } from '../integration/helpers/services.ts';
import type { Cluster } from './cluster.ts';

export interface SentRecord {
  topic: string;
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: string;
}

/** A record the product must refuse, and how. */
export interface BadRecord {
  name: string;
  topic: 'documents' | 'events';
  key: string | null;
  value: Buffer | string | null;
  code: string;
  /** The reason must match (it names the field, the offset, the limit...). */
  reason: RegExp;
  /** Where the refusal comes from: ingest letters carry the record's source and bytes. */
  stage: DeadLetter['stage'];
  /** For refusals after ingest: the document id the letter names. */
  subject?: string;
}

/** A producer of raw bytes (the cluster's own one only sends valid documents). */
export async function rawProducer(brokers: string[]): Promise<{
  send(topic: string, key: string | null, value: Buffer | string | null): Promise<SentRecord>;
  close(): Promise<void>;
}> {
  const producer = kafkaClient(brokers).producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    async send(topic, key, value) {
      const bytes = value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key, value: bytes }] });
      return { topic, key, value: bytes, partition: meta!.partition, offset: meta!.baseOffset! };
    },
    close: () => producer.disconnect(),
  };
}

export function deadLetters(cluster: Cluster): DeadLetter[] {
  return (cluster.collector.records.get(cluster.topics.deadLetter) ?? []).map((r) =>
    DeadLetterSchema.parse(JSON.parse(r.value)),
  );
}

/** The letter that refers to a sent record (by its source) or to a document (by its subject). */
export function letterFor(letters: DeadLetter[], bad: BadRecord, sent: SentRecord): DeadLetter | undefined {
  if (bad.subject !== undefined) return letters.find((l) => l.subject?.id === bad.subject);
  return letters.find(
    (l) => l.source?.topic === sent.topic && l.source.partition === sent.partition && l.source.offset === sent.offset,
  );
}

/** What is wrong with a refusal as observed (null: refused as it must be). */
export function refusalProblem(letter: DeadLetter | undefined, bad: BadRecord, sent: SentRecord): string | null {
  if (!letter) return 'no dead letter';
  if (letter.code !== bad.code) return `code ${letter.code}, expected ${bad.code} (${letter.reason.slice(0, 160)})`;
  if (!bad.reason.test(letter.reason)) return `reason "${letter.reason.slice(0, 200)}" does not match ${bad.reason}`;
  if (letter.stage !== bad.stage) return `stage ${letter.stage}, expected ${bad.stage}`;
  if (bad.stage === 'ingest') {
    const keyBase64 = sent.key === null ? null : Buffer.from(sent.key).toString('base64');
    if (letter.source?.keyBase64 !== keyBase64) return 'the letter does not carry the record key';
    if (
      sent.value === null
        ? letter.original !== null
        : !letter.original || !Buffer.from(letter.original.base64, 'base64').equals(sent.value)
    ) {
      return 'the letter does not carry the original bytes';
    }
  }
  return null;
}

/** Waits until every bad record has a letter (or the time runs out); returns the problems per record. */
export async function awaitRefusals(
  cluster: Cluster,
  bad: BadRecord[],
  sent: SentRecord[],
  timeoutMs: number,
): Promise<(string | null)[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const letters = deadLetters(cluster);
    const found = bad.map((b, i) => letterFor(letters, b, sent[i]!));
    if (found.every((l) => l !== undefined) || Date.now() > deadline)
      return bad.map((b, i) => refusalProblem(found[i], b, sent[i]!));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The codes of the refusals, counted, for the note: "E_SCHEMA ×12, E_JSON ×2". */
export function codeSummary(bad: BadRecord[]): string {
  const counts = new Map<string, number>();
  for (const b of bad) counts.set(b.code, (counts.get(b.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${code} ×${n}`).join(', ');
}
