// Creating the pipeline's topics when they are missing (brokers should refuse auto-creation, so a misspelt
// topic fails loudly). The dead-letter topic accepts records up to 8 MiB: it carries other records' bytes
// in base64, a third larger than the originals.
import type { Admin } from 'kafkajs';

import type { Topics } from '../../schemas/config.ts';

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
      ...(topic === topics.deadLetter ? { configEntries: [{ name: 'max.message.bytes', value: String(DEAD_LETTER_MAX_BYTES) }] } : {}),
    })),
  });
  return wanted;
}
