// SIGKILL in the middle of batched work: a worker with --batch-streams 8 is killed while several chunk and drain
// jobs are in flight together; a second batching worker takes over from the checkpoints. Every document's
// result equals an uninterrupted run's, every chunk is committed once and in order, and every event is scored
// once, in order, with the surprise of reading its stream in one go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue } from 'bullmq';

import { scoreEvents } from '../../pipelines/tasks/index.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { useDeployment } from './helpers/deployment.ts';
import { documentResults, scoredEvents, sendMix, workload } from './helpers/mix.ts';

const CHUNK_TOKENS = 256;
// Short locks, so the killed worker's jobs are taken over within seconds.
const WORKER_ARGS = [
  '--batch-streams',
  '8',
  '--batch-wait-ms',
  '10',
  '--chunk-tokens',
  String(CHUNK_TOKENS),
  '--batch-events',
  '3',
  '--batch-ms',
  '200',
  '--lock-ms',
  '2000',
  '--stalled-ms',
  '1000',
];
const deployment = useDeployment('bcrash', { producer: true, workerArgs: WORKER_ARGS });
const { prefix, topics, keys, collector, redis } = deployment;
const chunks = new Queue('chunks', { connection: redis, prefix });
deployment.onTeardown(() => chunks.close());
const mix = workload('bc', 6, 40, 8, 200);

const chunksOf = (text: string) => Math.ceil(Buffer.byteLength(text) / CHUNK_TOKENS);

async function committed(id: string): Promise<number> {
  return Number((await redis.hget(keys.checkpoint({ kind: 'document', id }), 'chunk')) ?? 0);
}

test('SIGKILL mid-batch: a second batching worker finishes everything, nothing lost or applied twice', {
  timeout: 300_000,
}, async () => {
  const a = await deployment.spawn('worker-a');
  await sendMix(deployment.producer, topics, mix);

  // Kill once work is under way and several jobs are in flight at once (their model calls share batches).
  for (let i = 0; ; i++) {
    const done = (await Promise.all(mix.documents.map((d) => committed(d.id)))).reduce((n, c) => n + c, 0);
    const active = (await chunks.getJobCounts('active')).active ?? 0;
    if (done >= 10 && active >= 2) break;
    assert.ok(i < 6000, 'worker A made no progress');
    await sleep(5);
  }
  a.kill('SIGKILL');
  await a.exited;
  const reached = await Promise.all(mix.documents.map((d) => committed(d.id)));
  assert.ok(
    reached.some((c, i) => c < chunksOf(mix.documents[i]!.text)),
    `killed before the end (${reached.join(', ')})`,
  );

  await deployment.spawn('worker-b');
  let docs: Map<string, unknown> | null = null;
  let events: ReturnType<typeof scoredEvents> = null;
  await collector.waitFor(
    topics.results,
    () => {
      docs = documentResults(collector, topics.results, mix);
      events = scoredEvents(collector, topics.results, mix);
      return docs !== null && events !== null;
    },
    180_000,
  );

  // The same documents under other ids, uninterrupted, on the surviving worker.
  const reference = { ...mix, documents: mix.documents.map((d) => ({ ...d, id: `ref-${d.id}` })) };
  await deployment.producer.send({
    topic: topics.documents,
    messages: reference.documents.map((d) => ({
      key: d.id,
      value: JSON.stringify({
        schema: DOCUMENT_SCHEMA_V1,
        id: d.id,
        task: d.task,
        body: { kind: 'text', text: d.text },
      }),
    })),
  });
  const referenceResults = await collector
    .waitFor(topics.results, () => documentResults(collector, topics.results, reference) !== null, 120_000)
    .then(() => documentResults(collector, topics.results, reference)!);
  for (const d of mix.documents) {
    assert.deepEqual(
      { ...(docs!.get(d.id) as object), id: null },
      { ...(referenceResults.get(`ref-${d.id}`) as object), id: null },
      `${d.id}: identical result`,
    );
    const trail = (await redis.lrange(keys.audit({ kind: 'document', id: d.id }), 0, -1)).map(
      (e) => JSON.parse(e) as { chunk: number; tokens: number },
    );
    assert.deepEqual(
      trail.map((e) => e.chunk),
      Array.from({ length: chunksOf(d.text) }, (_, k) => k + 1),
      `${d.id}: every chunk committed once, in order`,
    );
    assert.equal(trail.at(-1)!.tokens, Buffer.byteLength(d.text), `${d.id}: each token read once`);
  }

  // Each stream's events, scored once each and in order, as reading the stream in one go scores them.
  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  const separator = engine.tokenizer.encodeSync('\n');
  for (const [stream, lines] of Object.entries(mix.streams)) {
    const direct = await scoreEvents(
      engine,
      engine.model.newState(),
      lines.map((l) => engine.tokenizer.encodeSync(l)),
      separator,
      10_000,
    );
    lines.forEach((_, i) => {
      const scored = events!.get(`${stream}#${i}`);
      assert.ok(scored, `${stream} event ${i} scored`);
      assert.equal(scored.seq, i + 1);
      assert.equal(scored.surprise, direct[i]!.surprise, `${stream} event ${i}`);
    });
  }
  engine.dispose();
  assert.deepEqual(collector.records.get(topics.deadLetter), []);
});
