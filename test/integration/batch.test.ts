// Batched scheduling end to end: a worker that batches model calls (--batch-streams 8) and one that does not
// process the same mix of documents and event streams; every result is identical, and the batching worker
// did share forwards (its batch-size histogram says so).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Producer } from 'kafkajs';

import type { Topics } from '../../schemas/config.ts';
import type { RunningWorker } from '../../services/worker/runtime.ts';
import { documentResults, scoredEvents, sendMix, workload } from './helpers/mix.ts';
import {
  clearPrefix,
  createTopics,
  deleteTopics,
  kafkaBrokers,
  kafkaClient,
  TopicCollector,
  topicsFor,
  uniqueName,
} from './helpers/services.ts';
import { startTestWorker } from './helpers/worker.ts';

interface Deployment {
  prefix: string;
  topics: Topics;
  collector: TopicCollector;
  worker?: RunningWorker;
}

const deployments: Record<'batched' | 'single', Deployment> = {
  batched: {
    prefix: uniqueName('batched'),
    topics: topicsFor(uniqueName('batched-t')),
    collector: new TopicCollector(),
  },
  single: { prefix: uniqueName('single'), topics: topicsFor(uniqueName('single-t')), collector: new TopicCollector() },
};
const SETTINGS = { chunkTokens: 256, anomaly: { batchEvents: 3, batchMs: 200, threshold: 5 } };
const mix = workload('mix', 8, 24, 6);
let brokers: string[];
let producer: Producer;

before(
  async () => {
    brokers = await kafkaBrokers();
    for (const [kind, d] of Object.entries(deployments)) {
      await createTopics(brokers, d.topics);
      await d.collector.start(brokers, [d.topics.results, d.topics.deadLetter]);
      d.worker = await startTestWorker(
        { brokers, prefix: d.prefix, topics: d.topics, groupId: d.prefix },
        kind === 'batched' ? { batch: { streams: 8, waitMs: 20 } } : {},
        SETTINGS,
      );
    }
    producer = kafkaClient(brokers).producer();
    await producer.connect();
  },
  { timeout: 180_000 },
);

after(
  async () => {
    await producer?.disconnect();
    for (const d of Object.values(deployments)) {
      await d.worker?.stop();
      await d.collector.stop();
      await deleteTopics(brokers, d.topics).catch(() => {});
      await clearPrefix(d.prefix);
    }
  },
  { timeout: 60_000 },
);

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

test('a batching worker gives the same results as a worker that runs one job at a time', {
  timeout: 240_000,
}, async () => {
  for (const d of Object.values(deployments)) await sendMix(producer, d.topics, mix);
  const results = {} as Record<'batched' | 'single', { docs: Map<string, unknown>; events: Map<string, unknown> }>;
  for (const [kind, d] of Object.entries(deployments) as ['batched' | 'single', Deployment][]) {
    let docs: Map<string, unknown> | null = null;
    let events: Map<string, unknown> | null = null;
    await d.collector.waitFor(
      d.topics.results,
      () => {
        docs = documentResults(d.collector, d.topics.results, mix);
        events = scoredEvents(d.collector, d.topics.results, mix);
        return docs !== null && events !== null;
      },
      180_000,
    );
    results[kind] = { docs: docs!, events: events! };
    assert.deepEqual(d.collector.records.get(d.topics.deadLetter), [], `${kind}: no dead letters`);
  }
  // Bit-identical on the CPU: the same summaries, label log-probabilities and per-event surprises.
  for (const doc of mix.documents)
    assert.deepEqual(results.batched.docs.get(doc.id), results.single.docs.get(doc.id), doc.id);
  assert.equal(results.batched.events.size, results.single.events.size);
  // Events carry their input topic, which differs between the two deployments; the rest must match.
  const scored = (e: unknown) => ({ ...(e as Record<string, unknown>), topic: null });
  for (const [id, e] of results.single.events) assert.deepEqual(scored(results.batched.events.get(id)), scored(e), id);

  const port = deployments.batched.worker!.metricsPort!;
  const batches = await metric(port, 'rwkvstream_batch_streams_count');
  const streams = await metric(port, 'rwkvstream_batch_streams_sum');
  assert.ok(batches > 0, 'the batching worker ran batched forwards');
  assert.ok(streams > batches, `some forwards carried more than one job (${streams} streams in ${batches} forwards)`);
  const single = await fetch(`http://127.0.0.1:${deployments.single.worker!.metricsPort!}/metrics`).then((r) =>
    r.text(),
  );
  assert.ok(!/^rwkvstream_batch_streams_count [1-9]/m.test(single), 'the default worker never batches');
});
