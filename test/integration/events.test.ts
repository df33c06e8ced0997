// Event streams end to end: events keyed by stream id through the real broker, batches by count and by
// time, each stream's state carried across batches, scores on the results topic and readable by stream id.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { scoreEvents } from '../../pipelines/tasks/index.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema, type AnomalyResult } from '../../schemas/results.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';
import { redisUrl } from './helpers/services.ts';
import { startTestWorker } from './helpers/worker.ts';

const exec = promisify(execFile);
const deployment = useDeployment('events', {
  partitions: 3,
  producer: true,
  setUp: async (d) => {
    const worker = await startTestWorker(d, {}, { anomaly: { batchEvents: 4, batchMs: 300, threshold: 5 } });
    d.onTeardown(() => worker.stop());
  },
});
const { prefix, topics, collector } = deployment;

const STREAMS: Record<string, string[]> = {
  'web/frontend': Array.from({ length: 10 }, (_, i) => `GET /page/${i % 3} 200 ${12 + (i % 5)}ms`),
  'db/primary': [
    ...Array.from({ length: 6 }, (_, i) => `checkpoint complete: wrote ${100 + i} buffers`),
    '\u00ff\u00fe~~}{#@!QZXJ',
    'checkpoint complete: wrote 107 buffers',
  ],
  auth: ['user alice logged in', 'user bob logged in', 'user alice logged out'],
};

async function sendEvents(): Promise<void> {
  // Interleaved across streams, as they would arrive; each stream keyed by its id.
  const longest = Math.max(...Object.values(STREAMS).map((s) => s.length));
  for (let i = 0; i < longest; i++) {
    const messages = Object.entries(STREAMS)
      .filter(([, lines]) => i < lines.length)
      .map(([stream, lines]) => ({
        key: stream,
        value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text: lines[i], id: `${stream}#${i}` }),
      }));
    await deployment.producer.send({ topic: topics.events, messages });
  }
}

const batchesOf = (stream: string) =>
  (collector.records.get(topics.results) ?? [])
    .filter((r) => r.key === stream)
    .map((r) => AnomalyResultSchema.parse(JSON.parse(r.value)));

test('each stream is scored with its own state, carried across batches', { timeout: 180_000 }, async () => {
  await sendEvents();
  const total = Object.values(STREAMS).reduce((n, s) => n + s.length, 0);
  await collector.waitFor(
    topics.results,
    (rs) => rs.reduce((n, r) => n + JSON.parse(r.value).events.length, 0) >= total,
    90_000,
  );

  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  const sep = engine.tokenizer.encodeSync('\n');
  for (const [stream, lines] of Object.entries(STREAMS)) {
    const batches: AnomalyResult[] = batchesOf(stream);
    assert.deepEqual(
      batches.map((b) => b.batch),
      batches.map((_, i) => i),
      `${stream}: batches in order`,
    );
    assert.ok(
      batches.every((b) => b.events.length <= 4),
      'at most batchEvents per batch',
    );
    const events = batches.flatMap((b) => b.events);
    assert.deepEqual(
      events.map((e) => e.id),
      lines.map((_, i) => `${stream}#${i}`),
      `${stream}: every event once, in order`,
    );
    // Reading the stream's events alone, in one go, from a fresh state gives the same scores: the state was
    // carried from batch to batch and never mixed with another stream's.
    const direct = await scoreEvents(
      engine,
      engine.model.newState(),
      lines.map((l) => engine.tokenizer.encodeSync(l)),
      sep,
      10_000,
    );
    events.forEach((e, i) =>
      assert.ok(
        Math.abs(e.surprise - direct[i]!.surprise) < 1e-3,
        `${stream} event ${i}: ${e.surprise} vs ${direct[i]!.surprise}`,
      ),
    );
    assert.ok(events.every((e) => e.alert === e.surprise > 5));
    assert.equal(
      batches.at(-1)!.tokens,
      lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0),
    );
  }
  const db = batchesOf('db/primary').flatMap((b) => b.events);
  assert.equal(db[6]!.alert, true, 'the garbage line is an alert');
  assert.ok(db.slice(0, 6).every((e) => !e.alert));
  engine.dispose();

  // The auth stream has 3 events, fewer than a batch: they went out by time (batchMs).
  assert.deepEqual(
    batchesOf('auth').map((b) => b.events.length),
    [3],
  );

  // The stream's recent history, oldest first, ending with its latest batch.
  const recent = (
    await exec(process.execPath, [
      cliEntry,
      'result',
      'db/primary',
      '--stream',
      '--redis',
      redisUrl,
      '--prefix',
      prefix,
    ])
  ).stdout;
  assert.deepEqual(
    recent
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
    batchesOf('db/primary'),
  );
});

test('a stream continues from its state when more events arrive later', { timeout: 120_000 }, async () => {
  const before = batchesOf('auth');
  await deployment.producer.send({
    topic: topics.events,
    messages: [
      {
        key: 'auth',
        value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream: 'auth', text: 'user carol logged in', id: 'auth#3' }),
      },
    ],
  });
  await collector.waitFor(topics.results, () => batchesOf('auth').length > before.length, 30_000);
  const next = batchesOf('auth').at(-1)!;
  assert.equal(next.batch, before.length);
  assert.deepEqual(
    next.events.map((e) => [e.seq, e.id]),
    [[4, 'auth#3']],
  );
  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  const lines = [...STREAMS.auth!, 'user carol logged in'];
  const direct = await scoreEvents(
    engine,
    engine.model.newState(),
    lines.map((l) => engine.tokenizer.encodeSync(l)),
    engine.tokenizer.encodeSync('\n'),
    10_000,
  );
  assert.ok(Math.abs(next.events[0]!.surprise - direct[3]!.surprise) < 1e-3);
  engine.dispose();
});
