// Window summaries on the real broker and Redis: events of two stream keys, windows counted per key; a worker
// process SIGKILLed mid-stream and replaced gives exactly the window summaries of an undisturbed run (the same
// events under other keys, read by the surviving worker).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema, type AnomalyResult, type EventScore, type WindowSummary } from '../../schemas/results.ts';
import { useDeployment } from './helpers/deployment.ts';

const WINDOW = 5;
const TOP = 2;
const WORKER_ARGS = [
  '--batch-events',
  '3',
  '--batch-ms',
  '200',
  '--window-events',
  String(WINDOW),
  '--top-events',
  String(TOP),
  '--anomaly-threshold',
  '4.5',
  '--lock-ms',
  '2000',
  '--stalled-ms',
  '1000',
];

const STREAMS: Record<string, string[]> = {
  'svc/api': Array.from({ length: 23 }, (_, i) =>
    i === 13 ? 'panic: \u00ff\u00fe~~}{#@!QZXJ' : `GET /item/${i % 4} 200 ${10 + (i % 3)}ms`,
  ),
  'svc/db': Array.from({ length: 17 }, (_, i) => `checkpoint complete: wrote ${100 + (i % 5)} buffers`),
};

const deployment = useDeployment('windows', { producer: true, workerArgs: WORKER_ARGS });
const { topics, keys, collector, redis } = deployment;

/** Sends events [from, to) of every stream, interleaved, under `keyPrefix` + the stream's name. */
async function send(keyPrefix: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const messages = Object.entries(STREAMS)
      .filter(([, lines]) => i < lines.length)
      .map(([name, lines]) => {
        const stream = `${keyPrefix}${name}`;
        return { key: stream, value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text: lines[i], id: `#${i}` }) };
      });
    if (messages.length > 0) await deployment.producer.send({ topic: topics.events, messages });
  }
}

/** A stream's batches, each once (a batch published again after a crash must carry the same bytes); null until all its events are in. */
function batchesOf(stream: string, events: number): AnomalyResult[] | null {
  const byBatch = new Map<number, string>();
  for (const r of (collector.records.get(topics.results) ?? []).filter((rec) => rec.key === stream)) {
    const batch = (JSON.parse(r.value) as { batch: number }).batch;
    assert.ok(
      !byBatch.has(batch) || byBatch.get(batch) === r.value,
      `${stream} batch ${batch} published with other bytes`,
    );
    byBatch.set(batch, r.value);
  }
  const batches = [...byBatch.keys()]
    .sort((a, b) => a - b)
    .map((b) => AnomalyResultSchema.parse(JSON.parse(byBatch.get(b)!)));
  return batches.reduce((n, b) => n + b.events.length, 0) >= events ? batches : null;
}

function direct(window: number, scores: EventScore[]): WindowSummary {
  const sum = scores.reduce((s, e) => s + e.surprise, 0);
  return {
    window,
    windowEvents: WINDOW,
    firstSeq: scores[0]!.seq,
    lastSeq: scores.at(-1)!.seq,
    events: scores.length,
    tokens: scores.reduce((s, e) => s + e.tokens, 0),
    alerts: scores.filter((e) => e.alert).length,
    surpriseSum: sum,
    meanEventSurprise: sum / scores.length,
    maxSurprise: Math.max(...scores.map((e) => e.surprise)),
    top: [...scores]
      .sort((a, b) => b.surprise - a.surprise || a.seq - b.seq)
      .slice(0, TOP)
      .map((e) => ({ seq: e.seq, ...(e.id === undefined ? {} : { id: e.id }), surprise: e.surprise })),
  };
}

async function cursor(stream: string): Promise<number> {
  return Number((await redis.hget(keys.checkpoint({ kind: 'stream', id: stream }), 'cursor')) ?? 0);
}

test('windows per stream key; a worker SIGKILLed mid-stream and replaced gives the undisturbed window summaries', {
  timeout: 300_000,
}, async () => {
  const a = await deployment.spawn('worker-a');

  // The first part of each stream; once some of it is scored, the rest arrives and the worker is killed.
  await send('', 0, 10);
  for (let i = 0; (await cursor('svc/api')) < 6; i++) {
    assert.ok(i < 3000, 'worker A scored nothing');
    await sleep(20);
  }
  await send('', 10, 23);
  a.kill('SIGKILL');
  await a.exited;
  const reached = await cursor('svc/api');
  assert.ok(reached < STREAMS['svc/api']!.length, `killed mid-stream (cursor ${reached})`);

  await deployment.spawn('worker-b');
  // The undisturbed run: the same events under other keys, on the surviving worker.
  await send('ref-', 0, 23);
  const all = () =>
    Object.entries(STREAMS).every(
      ([name, lines]) => batchesOf(name, lines.length) && batchesOf(`ref-${name}`, lines.length),
    );
  await collector.waitFor(topics.results, all, 180_000);

  for (const [name, lines] of Object.entries(STREAMS)) {
    const batches = batchesOf(name, lines.length)!;
    const scores = batches.flatMap((r) => r.events);
    assert.deepEqual(
      scores.map((e) => e.seq),
      lines.map((_, i) => i + 1),
      `${name}: every event scored once, in order`,
    );
    const windows = batches.flatMap((r) => r.windows!);
    const closed = Math.floor(lines.length / WINDOW);
    assert.deepEqual(
      windows.map((w) => [w.window, w.firstSeq, w.lastSeq, w.events]),
      Array.from({ length: closed }, (_, w) => [w, w * WINDOW + 1, (w + 1) * WINDOW, WINDOW]),
      `${name}: windows by seq`,
    );
    windows.forEach((w) =>
      assert.deepEqual(
        w,
        direct(w.window, scores.slice(w.window * WINDOW, (w.window + 1) * WINDOW)),
        `${name} window ${w.window}`,
      ),
    );
    const open = batches.at(-1)!.openWindow!;
    assert.deepEqual(open, direct(closed, scores.slice(closed * WINDOW)), `${name}: the open window`);

    const reference = batchesOf(`ref-${name}`, lines.length)!;
    assert.equal(
      JSON.stringify(windows),
      JSON.stringify(reference.flatMap((r) => r.windows!)),
      `${name}: the same window summaries as undisturbed`,
    );
    assert.equal(JSON.stringify(open), JSON.stringify(reference.at(-1)!.openWindow), `${name}: the same open window`);
  }
  const api = batchesOf('svc/api', 23)!.flatMap((r) => r.windows!);
  assert.ok(api[2]!.alerts > 0 && api[2]!.top[0]!.seq === 14, 'the odd line leads its window');
  assert.deepEqual(collector.records.get(topics.deadLetter), []);
});
