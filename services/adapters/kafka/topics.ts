// Creating the pipeline's topics when they are missing (brokers should refuse auto-creation, so a misspelt
// topic fails loudly). The dead-letter topic accepts records up to 8 MiB: it carries other records' bytes
// in base64, a third larger than the originals.
import type { Admin } from 'kafkajs';

import type { Topics } from '../../../schemas/config.ts';
import type { ErrorCode } from '../../../schemas/error-codes.ts';
import type { KafkaClient } from './client.ts';

export const DEAD_LETTER_MAX_BYTES = 8 * 1024 * 1024;

export async function ensureTopics(admin: Admin, topics: Topics, partitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted = [topics.documents, topics.events, topics.results, topics.deadLetter].filter((t) => !existing.has(t));
  if (wanted.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: wanted.map((topic) => ({
      topic,
      numPartitions: partitions,
      ...(topic === topics.deadLetter
        ? { configEntries: [{ name: 'max.message.bytes', value: String(DEAD_LETTER_MAX_BYTES) }] }
        : {}),
    })),
  });
  return wanted;
}

export class TopicError extends Error {
  readonly code = 'E_TOPIC' satisfies ErrorCode;
}

/**
 * A producer's start (submit): the pipeline's topics exist afterwards, created here as a worker creates them
 * when they were missing; when they cannot be created, the error says how they come to exist.
 */
export async function ensureDocumentTopics(kafka: KafkaClient, topics: Topics, partitions: number): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, topics, partitions);
  } catch (err) {
    throw new TopicError(
      `the topic ${topics.documents} (or another of the pipeline's topics) does not exist and could not be created ` +
        `(${(err as Error).message}): start a worker first (it creates the topics), or create them on the broker`,
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
