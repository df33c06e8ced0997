// The adaptive threshold on its own: batch cuts and a round trip through the committed JSON change nothing,
// the long-run alert share is the configured rate, history is bounded, and a damaged state is refused. Also
// what a score carries of its line (cut text) and how a line is printed (escaped) and read (bounded).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HISTORY, carriedThreshold, judgeBatch, publishedResult } from '../../pipelines/thresholds.ts';
import { eventText } from '../../pipelines/tasks/anomaly.ts';
import { AnomalySettingsSchema } from '../../schemas/tasks.ts';
import { printable } from '../../services/cli/result-text.ts';
import { LineSplitter } from '../../services/adapters/files/lines.ts';

/** A deterministic stream of surprises: mostly around 4.6 nats, now and then a spike. */
function surprises(n: number, seed = 7): number[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return Array.from({ length: n }, () => (next() < 0.02 ? 6 + 3 * next() : 4.5 + 0.2 * next()));
}

const AUTO = AnomalySettingsSchema.parse({ alertRate: 0.01, warmupEvents: 50 });

test('an adaptive threshold judges the same whatever the batches, carried through the committed JSON', () => {
  const all = surprises(3000);
  const whole = judgeBatch(all, AUTO, null);
  let state = null;
  const judged = [];
  for (let at = 0, size = 1; at < all.length; at += size, size = ((size * 7) % 97) + 1) {
    const batch = judgeBatch(all.slice(at, at + size), AUTO, state);
    judged.push(...batch.judged);
    // What the next drain reads back: the committed result's JSON.
    state = carriedThreshold(JSON.stringify({ batch: 0, thresholdState: batch.state }));
  }
  assert.deepEqual(judged, whole.judged);
  assert.deepEqual(state, whole.state);
  assert.ok(
    whole.judged.slice(0, 50).every((j) => !j.alert && j.threshold === undefined),
    'nothing before the warm-up',
  );
  assert.ok(whole.judged.slice(50).every((j) => j.threshold !== undefined));
});

test('in the long run about alertRate of the events are alerts, and history stays bounded', () => {
  const all = surprises(40_000, 11);
  const { judged, state } = judgeBatch(all, AUTO, null);
  const rate = judged.filter((j) => j.alert).length / all.length;
  assert.ok(rate > 0.004 && rate < 0.016, `alert share ${rate}`);
  assert.equal(state!.seen, 40_000);
  const counted = state!.bins.reduce((n, [, c]) => n + c, 0) / 1024;
  assert.ok(counted < HISTORY, `counts halved as they reach ${HISTORY} events: ${counted}`);
  // The spikes (about 2%) are above the 99th percentile, ordinary lines are not.
  assert.ok(
    judged.every((j, i) => !j.alert || all[i]! > 6),
    'only spikes are alerts',
  );
});

test('a fixed threshold keeps no state; a damaged state is refused; the published result leaves the state out', () => {
  const fixed = judgeBatch([3, 5], AnomalySettingsSchema.parse({ threshold: 4 }), null);
  assert.deepEqual(fixed, {
    judged: [
      { alert: false, threshold: undefined },
      { alert: true, threshold: undefined },
    ],
    threshold: 4,
    state: undefined,
  });
  assert.equal(carriedThreshold(null), null);
  assert.equal(carriedThreshold('{"batch":0}'), null);
  assert.throws(
    () => carriedThreshold('{"thresholdState":{"seen":1,"bins":[[5,1],[5,2]]}}'),
    /E_THRESHOLD_STATE|increasing/,
  );
  assert.throws(() => carriedThreshold('{"thresholdState":{"seen":1,"bins":[[9000,1]]}}'), /thresholdState\.bins/);
  const committed = JSON.stringify({
    a: 1,
    events: [{ text: '"thresholdState"' }],
    thresholdState: { seen: 0, bins: [] },
    z: 2,
  });
  assert.equal(publishedResult(committed), JSON.stringify({ a: 1, events: [{ text: '"thresholdState"' }], z: 2 }));
  assert.equal(publishedResult('{"a":1}'), '{"a":1}');
});

test('a score carries its line cut at a character boundary; a printed line cannot drive the terminal', () => {
  assert.deepEqual(eventText('hello', 0), {});
  assert.deepEqual(eventText('hello', 5), { text: 'hello' });
  assert.deepEqual(eventText('ab\u{1F600}cd', 3), { text: 'ab', textCut: true }, 'a surrogate pair is not split');
  assert.equal(printable('a\x1b[31mb\x07\tc\u009b\u202ed\x7f'), 'a\\x1b[31mb\\x07\\tc\\x9b\\u{202e}d\\x7f');
  assert.equal(printable('plain ünïcödé ✓'), 'plain ünïcödé ✓');
});

test('a line splitter keeps at most maxLineBytes + 1 bytes of a line, and knows where each line ends', () => {
  const splitter = new LineSplitter({ maxLineBytes: 4 });
  const lines = [
    ...splitter.push(Buffer.from('ab\r\ncdefgh')),
    ...splitter.push(Buffer.from('ijklmnop'.repeat(1000))),
    ...splitter.push(Buffer.from('q\nrs')),
  ];
  assert.deepEqual(
    lines.map((l) => [l.number, l.bytes.toString(), l.end, l.cut]),
    [
      [1, 'ab', 4, false],
      [2, 'cdefg', 4 + 6 + 8000 + 2, true],
    ],
  );
  assert.ok(splitter.partialBytes <= 5);
  const last = splitter.end()!;
  assert.deepEqual([last.number, last.bytes.toString(), last.end, last.cut], [3, 'rs', 8014, false]);
});
