// A mix of documents (several chunks each, different lengths and tasks) and event streams (many keys, a few
// events each), sent straight to the input topics, and the results read back in a comparable form: the
// workload of the batching tests.
import type { Producer } from 'kafkajs';

import { DOCUMENT_SCHEMA_V1 } from '../../../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../../../schemas/events.ts';
import { AnomalyResultSchema, type EventScore } from '../../../schemas/results.ts';
import type { Topics } from '../../../schemas/config.ts';
import type { TopicCollector } from './services.ts';

export interface Mix {
  documents: { id: string; text: string; task: Record<string, unknown> }[];
  streams: Record<string, string[]>;
}

export function workload(tag: string, documents: number, streams: number, eventsPerStream: number, docLines = 20): Mix {
  return {
    documents: Array.from({ length: documents }, (_, d) => ({
      id: `${tag}-doc-${d}`,
      text: Array.from(
        { length: docLines + d * 9 },
        (_, i) => `[${d}.${i}] pump ${i % 5} at ${(i * 7 + d) % 90} psi; valve ${d % 3} open.\n`,
      ).join(''),
      task:
        d % 2 === 0
          ? { kind: 'summarize', maxTokens: 16 }
          : { kind: 'classify', labels: ['pumps', 'valves', 'weather'] },
    })),
    streams: Object.fromEntries(
      Array.from({ length: streams }, (_, s) => [
        `${tag}/stream-${s}`,
        Array.from({ length: eventsPerStream }, (_, i) =>
          s === 3 && i === 4 ? '\u00ff\u00fe~~}{#@!QZXJ' : `GET /api/${s % 4}/${i % 3} 200 ${10 + ((s + i) % 9)}ms`,
        ),
      ]),
    ),
  };
}

export async function sendMix(producer: Producer, topics: Topics, mix: Mix): Promise<void> {
  await producer.send({
    topic: topics.documents,
    messages: mix.documents.map((d) => ({
      key: d.id,
      value: JSON.stringify({
        schema: DOCUMENT_SCHEMA_V1,
        id: d.id,
        task: d.task,
        body: { kind: 'text', text: d.text },
      }),
    })),
  });
  // Interleaved across streams, as events arrive.
  const longest = Math.max(...Object.values(mix.streams).map((s) => s.length));
  for (let i = 0; i < longest; i++) {
    await producer.send({
      topic: topics.events,
      messages: Object.entries(mix.streams)
        .filter(([, lines]) => i < lines.length)
        .map(([stream, lines]) => ({
          key: stream,
          value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text: lines[i], id: `${stream}#${i}` }),
        })),
    });
  }
}

/** Every scored event of every stream, deduplicated by batch (publishing is at least once), by event id. */
export function scoredEvents(collector: TopicCollector, topic: string, mix: Mix): Map<string, EventScore> | null {
  const records = collector.records.get(topic) ?? [];
  const batches = new Map<string, EventScore[]>();
  for (const r of records) {
    if (r.key === null || !(r.key in mix.streams)) continue;
    const result = AnomalyResultSchema.parse(JSON.parse(r.value));
    batches.set(`${result.id}~${result.batch}`, result.events);
  }
  const events = new Map<string, EventScore>();
  for (const list of batches.values()) for (const e of list) events.set(e.id!, e);
  const expected = Object.values(mix.streams).reduce((n, s) => n + s.length, 0);
  return events.size >= expected ? events : null;
}

/** The published result of every document of the mix, by id; null until all are there. */
export function documentResults(collector: TopicCollector, topic: string, mix: Mix): Map<string, unknown> | null {
  const out = new Map<string, unknown>();
  for (const r of collector.records.get(topic) ?? []) {
    if (r.key !== null && mix.documents.some((d) => d.id === r.key)) out.set(r.key, JSON.parse(r.value));
  }
  return out.size === mix.documents.length ? out : null;
}
