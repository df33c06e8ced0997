// Events written twice by a producer (same id, new Kafka record) are taken in once per stream, within the
// horizon of the last EVENT_ID_HORIZON ids; events without an id are distinct. Checked on the Redis event log,
// on the embedded one (including a resumed run), and end to end through the broker and a worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EVENT_ID_HORIZON } from '../../pipelines/ports.ts';
import { scoreEvents } from '../../pipelines/tasks/index.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema } from '../../schemas/results.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import { FileStateStore } from '../../services/adapters/files/state-store.ts';
import { Engine } from '../../engine/index.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisEventLog } from '../../services/adapters/redis/event-log.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { useDeployment } from './helpers/deployment.ts';
import { clearPrefix } from './helpers/services.ts';
import { startTestWorker } from './helpers/worker.ts';

// The first tests need no broker: the last one starts the deployment.
const deployment = useDeployment('event-dedupe', { partitions: 2, producer: true, deferStart: true });
const { prefix, topics, collector, redis } = deployment;
const scratch = deployment.tempDir();

const event = (offset: number, id?: string) => ({
  text: `line ${offset}`,
  ...(id === undefined ? {} : { id }),
  topic: 'app.events',
  partition: 0,
  offset: String(offset),
  receivedAt: 1000 + offset,
});

test('the Redis event log takes an id in once per stream, forgets ids past the horizon, and keeps events without an id', async () => {
  const keys = new Keys(`${prefix}-log`);
  const log = new RedisEventLog(redis, keys);
  try {
    assert.deepEqual(await log.append('s', event(1, 'a')), { appended: true, pending: 1, batch: 0 });
    assert.deepEqual(
      await log.append('s', event(2, 'a')),
      { appended: false, pending: 1, batch: 0 },
      'the same id under a new record',
    );
    assert.deepEqual(
      await log.append('t', event(3, 'a')),
      { appended: true, pending: 1, batch: 0 },
      'ids are per stream',
    );
    assert.equal((await log.append('s', event(4))).appended, true);
    assert.equal((await log.append('s', event(5))).appended, true, 'no id: distinct by definition');
    assert.equal((await log.append('s', event(2, 'a'))).appended, false, 'the duplicate record itself delivered again');
    assert.deepEqual(
      (await log.read('s', 0, 10)).map((e) => [e.seq, e.offset, e.id ?? null]),
      [
        [1, '1', 'a'],
        [2, '4', null],
        [3, '5', null],
      ],
    );

    // Fill the horizon with other ids: "a" falls out of it and is taken in again.
    for (let i = 0; i < EVENT_ID_HORIZON; i++) await log.append('s', event(10 + i, `id-${i}`));
    assert.equal(await redis.zcard(keys.eventIds('s')), EVENT_ID_HORIZON, 'the remembered ids stay bounded');
    assert.equal((await log.append('s', event(10 + EVENT_ID_HORIZON, 'a'))).appended, true);
    assert.equal(
      (await log.append('s', event(11 + EVENT_ID_HORIZON, `id-${EVENT_ID_HORIZON - 1}`))).appended,
      false,
      'a recent id is still remembered',
    );
  } finally {
    await clearPrefix(`${prefix}-log`);
  }
});

test('the embedded event log drops the same duplicates when a resumed run reads the input again', async () => {
  const states = await FileStateStore.open(scratch);
  const input = [event(1, 'x'), event(2, 'y'), event(3, 'x'), event(4), event(5, 'z'), event(6, 'y'), event(7)];
  const first = new MemoryEventLog(states);
  const taken: number[] = [];
  for (const e of input) if ((await first.append('s', e)).appended) taken.push(Number(e.offset));
  assert.deepEqual(taken, [1, 2, 4, 5, 7]);
  assert.deepEqual(
    (await first.read('s', 0, 10)).map((e) => e.seq),
    [1, 2, 3, 4, 5],
  );

  // The checkpoint read the first three events taken in (offsets 1, 2, 4); the input is read again from its start.
  await states.commit({ kind: 'stream', id: 's' }, 0, {
    blob: Buffer.alloc(8),
    chunk: 1,
    tokens: 30,
    cursor: 3,
    result: null,
    writer: 'test',
  });
  const resumed = new MemoryEventLog(states);
  for (const e of input) await resumed.append('s', e);
  assert.deepEqual(
    (await resumed.read('s', 3, 10)).map((e) => [e.seq, e.offset]),
    [
      [4, '5'],
      [5, '7'],
    ],
    'the events after the cursor keep their numbers',
  );
});

test('end to end: an event a producer wrote twice is scored once, with the scores of an undisturbed stream', {
  timeout: 240_000,
}, async () => {
  await deployment.start();
  const worker = await startTestWorker(deployment, {}, { anomaly: { batchEvents: 4, batchMs: 300, threshold: 5 } });
  deployment.onTeardown(() => worker.stop());

  const stream = 'app/dedupe';
  const lines = Array.from({ length: 9 }, (_, i) => `job ${i % 4} finished in ${20 + i} ms`);
  const message = (i: number, withId: boolean) => ({
    key: stream,
    value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text: lines[i], ...(withId ? { id: `e${i}` } : {}) }),
  });
  // Events 0..7 carry ids and 2, 5 and 7 are written twice (5 right away, 2 and 7 a few events later, as a
  // producer's retry would); event 8 has no id and is written twice on purpose: two events with the same text.
  const sends = [[0], [1], [2], [3], [2, 4], [5, 5], [6], [7], [8], [7], [8]];
  for (const batch of sends)
    await deployment.producer.send({ topic: topics.events, messages: batch.map((i) => message(i, i !== 8)) });

  const expected = [...lines, lines[8]!];
  const events = async () => {
    const records = await collector.waitFor(
      topics.results,
      (rs) =>
        rs.filter((r) => r.key === stream).reduce((n, r) => n + JSON.parse(r.value).events.length, 0) >=
        expected.length,
      120_000,
    );
    // Publishing is at least once: a batch is identified by stream id and batch number.
    const batches = new Map(
      records
        .filter((r) => r.key === stream)
        .map((r) => AnomalyResultSchema.parse(JSON.parse(r.value)))
        .map((b) => [b.batch, b.events]),
    );
    return [...batches.entries()].sort(([a], [b]) => a - b).flatMap(([, list]) => list);
  };
  const scored = await events();
  assert.deepEqual(
    scored.map((e) => e.id ?? null),
    [...lines.slice(0, 8).map((_, i) => `e${i}`), null, null],
    'each id once, in first-seen order',
  );
  assert.deepEqual(
    scored.map((e) => e.seq),
    expected.map((_, i) => i + 1),
  );

  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  try {
    const direct = await scoreEvents(
      engine,
      engine.model.newState(),
      expected.map((l) => engine.tokenizer.encodeSync(l)),
      engine.tokenizer.encodeSync('\n'),
      10_000,
    );
    scored.forEach((e, i) =>
      assert.ok(
        Math.abs(e.surprise - direct[i]!.surprise) < 1e-3,
        `event ${i}: ${e.surprise} vs ${direct[i]!.surprise}`,
      ),
    );
  } finally {
    engine.dispose();
  }
  assert.equal(collector.records.get(topics.deadLetter)!.length, 0, 'a duplicate is not an error');
});
