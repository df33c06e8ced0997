// Window summaries of event streams on memory ports and the tiny model: windows close at the right seq across
// batches smaller than, equal to and larger than a window; each summary equals a direct computation from the
// per-event scores; a drain redone after a crash emits the same bytes; settings and bad carried state.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { runDrain } from '../../pipelines/drain.ts';
import { ingestEventRecord } from '../../pipelines/ingest.ts';
import { advanceWindows, carriedWindow } from '../../pipelines/windows.ts';
import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema, type AnomalyResult, type EventScore, type WindowSummary } from '../../schemas/results.ts';
import { AnomalySettingsSchema } from '../../schemas/tasks.ts';
import { WindowLines } from '../../services/cli/window-text.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const LINES = [
  'user alice logged in',
  'user alice opened report 7',
  'user alice logged out',
  'zz\u00ff\u00fe!!##%%',
  'user bob logged in',
  'user bob opened report 9',
  'user bob logged out',
  'disk usage 41%',
  'disk usage 42%',
  'user carol logged in',
  'kernel: BUG at 0xdeadbeef',
  'user carol logged out',
  'user dave logged in',
];

async function sendAll(
  p: MemoryPipeline,
  stream: string,
  lines: readonly string[],
  partition = 0,
  firstOffset = 0,
): Promise<void> {
  for (const [i, text] of lines.entries()) {
    const offset = firstOffset + i;
    await ingestEventRecord(
      {
        topic: 'events',
        partition,
        offset: String(offset),
        key: Buffer.from(stream),
        value: Buffer.from(JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text, id: `${stream}-${offset}` })),
        timestamp: '0',
      },
      p.deps,
    );
  }
}

function published(p: MemoryPipeline, stream: string): AnomalyResult[] {
  return p.sinks.results.filter((r) => r.key === stream).map((r) => AnomalyResultSchema.parse(JSON.parse(r.json)));
}

/** A window's summary computed straight from its events' scores (in seq order). */
function direct(window: number, windowEvents: number, topEvents: number, events: EventScore[]): WindowSummary {
  const sum = events.reduce((s, e) => s + e.surprise, 0);
  const top = [...events]
    .sort((a, b) => (b.surprise !== a.surprise ? b.surprise - a.surprise : a.seq - b.seq))
    .slice(0, topEvents)
    .map((e) => ({ seq: e.seq, ...(e.id === undefined ? {} : { id: e.id }), surprise: e.surprise }));
  return {
    window,
    windowEvents,
    firstSeq: events[0]!.seq,
    lastSeq: events.at(-1)!.seq,
    events: events.length,
    tokens: events.reduce((s, e) => s + e.tokens, 0),
    alerts: events.filter((e) => e.alert).length,
    surpriseSum: sum,
    meanEventSurprise: sum / events.length,
    maxSurprise: Math.max(...events.map((e) => e.surprise)),
    top,
  };
}

const N = 4;
const TOP = 2;

for (const batchEvents of [1, 3, N, 9]) {
  test(`windows of ${N} events close at the right seq with batches of ${batchEvents}, and equal a direct computation`, async () => {
    const p = memoryPipeline(engine, { anomaly: { batchEvents, windowEvents: N, topEvents: TOP, threshold: 4.5 } });
    await sendAll(p, 'app', LINES);
    const ran = await runQueued(p);
    assert.ok(
      ran.every(([, outcome]) => ['applied', 'idle'].includes(outcome)),
      JSON.stringify(ran),
    );

    const batches = published(p, 'app');
    assert.deepEqual(
      batches.map((b) => b.events.length),
      Array.from({ length: Math.ceil(LINES.length / batchEvents) }, (_, i) =>
        Math.min(batchEvents, LINES.length - i * batchEvents),
      ),
    );
    const all = batches.flatMap((b) => b.events);
    assert.deepEqual(
      all.map((e) => e.seq),
      LINES.map((_, i) => i + 1),
    );

    for (const b of batches) {
      const last = b.events.at(-1)!.seq;
      const first = b.events[0]!.seq;
      // Exactly the windows whose last seq this batch read, each equal to the direct computation.
      const expected = [];
      for (let w = 0; (w + 1) * N <= last; w++) if ((w + 1) * N >= first) expected.push(w);
      assert.deepEqual(
        b.windows!.map((w) => w.window),
        expected,
        `batch ${b.batch}`,
      );
      for (const w of b.windows!) {
        assert.deepEqual(
          w,
          direct(w.window, N, TOP, all.slice(w.window * N, (w.window + 1) * N)),
          `window ${w.window}`,
        );
      }
      // The open window: the events of the current window read so far, or none when this batch closed it.
      const openW = Math.floor(last / N);
      if (last % N === 0) assert.equal(b.openWindow, null, `batch ${b.batch}`);
      else
        assert.deepEqual(
          b.openWindow,
          direct(openW, N, TOP, all.slice(openW * N, last)),
          `batch ${b.batch} open window`,
        );
    }
    const closed = batches.flatMap((b) => b.windows!);
    assert.deepEqual(
      closed.map((w) => [w.window, w.firstSeq, w.lastSeq, w.events]),
      [
        [0, 1, 4, 4],
        [1, 5, 8, 4],
        [2, 9, 12, 4],
      ],
    );
    assert.deepEqual(
      batches.at(-1)!.openWindow && [batches.at(-1)!.openWindow!.firstSeq, batches.at(-1)!.openWindow!.events],
      [13, 1],
    );
    assert.ok(
      closed.some((w) => w.alerts > 0),
      'the noise lines raise alerts inside windows',
    );
    assert.ok(closed.every((w) => w.top.length === TOP && w.top[0]!.surprise === w.maxSurprise));
  });
}

test('windows are counted per stream key', async () => {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 3, windowEvents: 3 } });
  for (let i = 0; i < 7; i++) {
    await sendAll(p, 'a', [LINES[i]!], 0, i);
    if (i < 4) await sendAll(p, 'b', [LINES[i + 5]!], 1, i);
  }
  await runQueued(p);
  const a = published(p, 'a').flatMap((r) => r.windows!);
  const b = published(p, 'b').flatMap((r) => r.windows!);
  assert.deepEqual(
    a.map((w) => [w.firstSeq, w.lastSeq]),
    [
      [1, 3],
      [4, 6],
    ],
  );
  assert.deepEqual(
    b.map((w) => [w.firstSeq, w.lastSeq]),
    [[1, 3]],
  );
  assert.equal(published(p, 'b').at(-1)!.openWindow!.events, 1);
});

test('without windows the result has no window fields at all', async () => {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 5 } });
  await sendAll(p, 'plain', LINES.slice(0, 5));
  await runQueued(p);
  const json = p.sinks.results[0]!.json;
  assert.doesNotMatch(json, /window/i);
  assert.deepEqual(Object.keys(JSON.parse(json) as object).at(-1), 'alerts');
});

/** Runs a stream through, failing the step `fail` arranges once; returns the published bytes, one per batch. */
async function runWithFault(fail: (p: MemoryPipeline) => void): Promise<string[]> {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 3, windowEvents: N, topEvents: TOP } });
  fail(p);
  await sendAll(p, 'svc', LINES);
  for (let batch = 0; ; batch++) {
    let outcome: string;
    try {
      outcome = await runDrain({ kind: 'drain', stream: 'svc', batch }, p.deps, jobContext());
    } catch {
      // The retry of the failed step.
      outcome = await runDrain({ kind: 'drain', stream: 'svc', batch }, p.deps, jobContext());
    }
    if (outcome === 'idle') break;
  }
  const byBatch = new Map<number, string>();
  for (const r of p.sinks.results) {
    const batch = AnomalyResultSchema.parse(JSON.parse(r.json)).batch;
    if (byBatch.has(batch)) assert.equal(r.json, byBatch.get(batch), 'a batch published again has the same bytes');
    byBatch.set(batch, r.json);
  }
  return [...byBatch.keys()].sort((x, y) => x - y).map((k) => byBatch.get(k)!);
}

test('a drain redone after a crash between commit and publish, or before commit, emits identical windows', async () => {
  const undisturbed = await runWithFault(() => {});
  assert.equal(undisturbed.length, Math.ceil(LINES.length / 3));

  // Crash after batch 1 committed, before it was published: the next drain publishes it, then continues.
  const afterCommit = await runWithFault((p) => {
    const publish = p.deps.resultSink.publish;
    let calls = 0;
    p.deps.resultSink = {
      publish: async (key, json) => {
        if (++calls === 2) throw new Error('worker killed before the publish');
        await publish(key, json);
      },
    };
  });
  assert.deepEqual(afterCommit, undisturbed);

  // Crash before batch 2's commit: the retry starts again from batch 1's committed window.
  const beforeCommit = await runWithFault((p) => {
    const commit = p.states.commit.bind(p.states);
    let calls = 0;
    p.states.commit = async (key, expected, write) => {
      if (++calls === 3) throw new Error('worker killed before the commit');
      return commit(key, expected, write);
    };
  });
  assert.deepEqual(beforeCommit, undisturbed);
  const windows = undisturbed.map((json) => AnomalyResultSchema.parse(JSON.parse(json)).windows!.map((w) => w.window));
  assert.deepEqual(windows, [[], [0], [1], [2], []]);
});

// ---- the accumulator alone ----------------------------------------------------------------------------------

function score(seq: number, surprise: number, alert = false): EventScore {
  return { seq, topic: 't', partition: 0, offset: String(seq), tokens: 2, surprise, alert };
}

test('top events: most surprising first, ties by seq, cut at topEvents whatever the batch cuts', () => {
  const events = [score(1, 2), score(2, 5), score(3, 5, true), score(4, 1), score(5, 5), score(6, 3)];
  const whole = advanceWindows(null, events, { windowEvents: 6, topEvents: 3 });
  assert.deepEqual(
    whole.windows[0]!.top.map((t) => t.seq),
    [2, 3, 5],
  );
  let carried: WindowSummary | null = null;
  const pieces: WindowSummary[] = [];
  for (const cut of [
    [0, 1],
    [1, 4],
    [4, 6],
  ]) {
    const out = advanceWindows(carried, events.slice(cut[0], cut[1]), { windowEvents: 6, topEvents: 3 });
    pieces.push(...out.windows);
    carried = out.openWindow === null ? null : (JSON.parse(JSON.stringify(out.openWindow)) as WindowSummary);
  }
  assert.equal(JSON.stringify(pieces), JSON.stringify(whole.windows));
  assert.equal(whole.openWindow, null);
});

test('a carried window of another size is closed as it stands; the new size starts with the next event', () => {
  const first = advanceWindows(null, [score(1, 1), score(2, 2)], { windowEvents: 5, topEvents: 1 });
  const next = advanceWindows(first.openWindow, [score(3, 3), score(4, 4)], { windowEvents: 2, topEvents: 1 });
  assert.deepEqual(
    next.windows.map((w) => [w.windowEvents, w.window, w.firstSeq, w.lastSeq, w.events]),
    [
      [5, 0, 1, 2, 2],
      [2, 1, 3, 4, 2],
    ],
  );
  assert.equal(next.openWindow, null);
  // Windows turned on mid-stream: the first window covers only the events since (firstSeq says so).
  const late = advanceWindows(null, [score(7, 1), score(8, 1), score(9, 1)], { windowEvents: 4, topEvents: 1 });
  assert.deepEqual(
    late.windows.map((w) => [w.window, w.firstSeq, w.lastSeq, w.events]),
    [[1, 7, 8, 2]],
  );
  assert.deepEqual(late.openWindow && [late.openWindow.window, late.openWindow.firstSeq], [2, 9]);
  assert.throws(() => advanceWindows(late.openWindow, [score(9, 1)], { windowEvents: 4, topEvents: 1 }), {
    code: 'E_WINDOW_ORDER',
  });
});

test('the carried window is read from the committed result, and a damaged one is refused by code', () => {
  const out = advanceWindows(null, [score(1, 1.25)], { windowEvents: 3, topEvents: 1 });
  assert.deepEqual(carriedWindow(JSON.stringify({ batch: 0, openWindow: out.openWindow })), out.openWindow);
  assert.equal(carriedWindow(null), null);
  assert.equal(carriedWindow(JSON.stringify({ batch: 0, events: [] })), null);
  assert.throws(() => carriedWindow('{"openWindow":'), { code: 'E_WINDOW_STATE', message: /expected .* JSON/ });
  assert.throws(() => carriedWindow(JSON.stringify({ openWindow: { window: -1 } })), {
    code: 'E_WINDOW_STATE',
    message: /openWindow\./,
  });
  assert.throws(() => advanceWindows(null, [], { windowEvents: 0, topEvents: 1 }), { code: 'E_WINDOW_SETTINGS' });
});

test('scan text: a line per closed window, after the line that closed it, naming lines rather than seqs', () => {
  const lines = new WindowLines();
  const events = [score(1, 2), score(2, 6, true), score(3, 1)].map((e, i) => ({ ...e, offset: String(10 + 2 * i) }));
  const out = advanceWindows(null, events, { windowEvents: 2, topEvents: 2 });
  lines.batch({ events, windows: out.windows } as AnomalyResult);
  assert.equal(lines.through(1), '');
  assert.equal(
    lines.through(2),
    '-- window 0: lines 10-12, 2 lines, 1 alert, mean 4.00 max 6.00 nats per token; most surprising: 12 (6.00), 10 (2.00)\n',
  );
  assert.equal(lines.through(), '');
});

test('windowEvents and topEvents: defaults, bounds, and the pipeline settings carry them', () => {
  const defaults = AnomalySettingsSchema.parse({});
  assert.equal(defaults.windowEvents, 0);
  assert.equal(defaults.topEvents, 5);
  assert.equal(AnomalySettingsSchema.safeParse({ windowEvents: 1_000_000, topEvents: 100 }).success, true);
  assert.equal(AnomalySettingsSchema.safeParse({ windowEvents: 1_000_001 }).success, false);
  assert.equal(AnomalySettingsSchema.safeParse({ windowEvents: 2.5 }).success, false);
  assert.equal(AnomalySettingsSchema.safeParse({ topEvents: 101 }).success, false);
  assert.equal(AnomalySettingsSchema.safeParse({ topEvents: -1 }).success, false);
  assert.equal(PipelineSettingsSchema.parse({ anomaly: { windowEvents: 10 } }).anomaly.windowEvents, 10);
});
