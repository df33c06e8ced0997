// Event streams on memory ports and the tiny model: per-key state carried across batches, batches by count,
// alerts above the threshold, and the outbox that survives a crash between commit and publish.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { runDrain } from '../../pipelines/drain.ts';
import { ingestEventRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { scoreEvents } from '../../pipelines/tasks/index.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema, type AnomalyResult } from '../../schemas/results.ts';
import { Engine } from '../../engine/index.ts';
import { maxAbsDiff, tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const offsets = new Map<number, number>();
async function send(p: MemoryPipeline, stream: string, text: string, partition = 0): Promise<RawRecord> {
  const offset = offsets.get(partition) ?? 0;
  offsets.set(partition, offset + 1);
  const record: RawRecord = {
    topic: 'events',
    partition,
    offset: String(offset),
    key: Buffer.from(stream),
    value: Buffer.from(JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text, id: `${stream}-${offset}` })),
    timestamp: '0',
  };
  await ingestEventRecord(record, p.deps);
  return record;
}

const linesA = [
  'user alice logged in',
  'user alice opened report 7',
  'user alice logged out',
  'user bob logged in',
  'user bob opened report 9',
  'user bob logged out',
  'user carol logged in',
];
const linesB = ['disk usage 41%', 'disk usage 42%', 'disk usage 42%', 'zz\u00ff\u00fe!!##%%'];

test('each stream keeps its own state across batches: the same as reading its events in one go', async () => {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 3, threshold: 4.5 } });
  for (let i = 0; i < Math.max(linesA.length, linesB.length); i++) {
    if (linesA[i]) await send(p, 'app', linesA[i]!, 0);
    if (linesB[i]) await send(p, 'disk', linesB[i]!, 1);
  }
  const ran = await runQueued(p);
  assert.ok(
    ran.every(([, outcome]) => ['applied', 'idle'].includes(outcome)),
    JSON.stringify(ran),
  );

  const results = p.sinks.results.map((r) => AnomalyResultSchema.parse(JSON.parse(r.json)));
  const app = results.filter((r) => r.id === 'app');
  assert.deepEqual(
    app.map((r) => r.events.length),
    [3, 3, 1],
    'batches by count',
  );
  assert.deepEqual(
    app.map((r) => r.batch),
    [0, 1, 2],
  );
  assert.deepEqual(
    app.flatMap((r) => r.events.map((e) => e.seq)),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual(
    app.flatMap((r) => r.events.map((e) => e.id)),
    linesA.map((_, i) => `app-${i}`),
  );

  for (const [stream, lines, batches] of [
    ['app', linesA, app],
    ['disk', linesB, results.filter((r) => r.id === 'disk')],
  ] as const) {
    const direct = engine.model.newState();
    const sep = engine.tokenizer.encodeSync('\n');
    const scores = await scoreEvents(
      engine,
      direct,
      lines.map((l) => engine.tokenizer.encodeSync(l)),
      sep,
      10_000,
    );
    const got = (batches as AnomalyResult[]).flatMap((r) => r.events);
    got.forEach((e, i) => assert.ok(Math.abs(e.surprise - scores[i]!.surprise) < 1e-3, `${stream} event ${i}`));
    const head = (await p.states.head({ kind: 'stream', id: stream }))!;
    const carried = engine.stateFromBuffer((await p.states.blob({ kind: 'stream', id: stream }, head))!);
    assert.ok(maxAbsDiff(carried.data, direct.data) < 1e-4, `${stream}: carried state`);
    assert.equal(carried.tokens, direct.tokens);
    assert.equal(head.cursor, lines.length);
  }
  const disk = results.filter((r) => r.id === 'disk').flatMap((r) => r.events);
  assert.equal(disk.at(-1)!.alert, true, 'the noise line is an alert');
  assert.equal(disk.at(-1)!.surprise > 4.5, true);
  assert.ok(disk.slice(0, 3).every((e) => e.alert === e.surprise > 4.5));
  assert.equal(await p.results.get('stream', 'disk'), p.sinks.results.filter((r) => r.key === 'disk').at(-1)!.json);
  assert.equal((await p.events.read('app', 0, 100)).length, 0, 'consumed events are trimmed');
});

test('a batch committed but not published (crash) is published by the next drain, exactly once', async () => {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 2 } });
  await send(p, 'svc', 'request ok');
  await send(p, 'svc', 'request ok');
  const publish = p.deps.resultSink.publish;
  p.deps.resultSink = {
    publish: async () => {
      throw new Error('broker down');
    },
  };
  await assert.rejects(runDrain({ kind: 'drain', stream: 'svc', batch: 0 }, p.deps, jobContext()), /broker down/);
  const head = (await p.states.head({ kind: 'stream', id: 'svc' }))!;
  assert.equal(head.published, false);
  assert.equal(head.cursor, 2);
  p.deps.resultSink = { publish };

  await send(p, 'svc', 'request failed');
  assert.equal(await runDrain({ kind: 'drain', stream: 'svc', batch: 1 }, p.deps, jobContext()), 'applied');
  const batches = p.sinks.results.map((r) => AnomalyResultSchema.parse(JSON.parse(r.json)));
  assert.deepEqual(
    batches.map((b) => [b.batch, b.events.map((e) => e.seq)]),
    [
      [0, [1, 2]],
      [1, [3]],
    ],
  );
  assert.equal(await runDrain({ kind: 'drain', stream: 'svc', batch: 2 }, p.deps, jobContext()), 'idle');
  assert.equal(p.sinks.results.length, 2);
});

test('two drains of one stream at once: one commits, the other is discarded', async () => {
  const a = memoryPipeline(engine, { anomaly: { batchEvents: 10 } });
  const b = memoryPipeline(
    await Engine.load({ model: tinyModel, threads: 1 }),
    { anomaly: { batchEvents: 10 } },
    a,
    'worker-b',
  );
  for (const line of linesA) await send(a, 'race', line);
  const outcomes = await Promise.all([
    runDrain({ kind: 'drain', stream: 'race', batch: 0 }, a.deps, jobContext()),
    runDrain({ kind: 'drain', stream: 'race', batch: 0 }, b.deps, jobContext()),
  ]);
  assert.deepEqual([...outcomes].sort(), ['applied', 'superseded']);
  assert.equal(a.sinks.results.length, 1);
  assert.equal((await a.states.head({ kind: 'stream', id: 'race' }))!.version, 1);
});
