// Progress reporting with a fake clock and fake streams: the rate estimate, the text, a redrawn bar on a
// terminal, periodic plain lines elsewhere, and silence when quiet.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  Progress,
  RateMeter,
  downloadProgress,
  etaMs,
  formatBar,
  formatCount,
  formatDuration,
  formatLine,
  formatSummary,
  type ProgressStream,
  type ProgressView,
} from '../../services/cli/progress.ts';

class FakeStream implements ProgressStream {
  readonly chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
  ) {}
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

function clock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const view = (over: Partial<ProgressView> = {}): ProgressView => ({
  label: 'summarize',
  unit: 'tokens',
  done: 1_230_000,
  total: 4_000_000,
  rate: 1200,
  elapsedMs: 60_000,
  ...over,
});

test('the rate follows a steady pace exactly and moves toward a new pace by half per half-life', () => {
  const meter = new RateMeter(1000);
  assert.equal(meter.rate, undefined);
  meter.sample(0, 0);
  meter.sample(0, 0);
  assert.equal(meter.rate, undefined);
  meter.sample(500, 500);
  assert.equal(meter.rate, 1000);
  meter.sample(1500, 1500);
  assert.equal(meter.rate, 1000);
  // The pace triples for one half-life: the estimate goes half way, to 2000.
  meter.sample(4500, 2500);
  assert.equal(meter.rate, 2000);
  // Updates at the same instant are folded into the next one with a duration.
  meter.sample(5000, 2500);
  meter.sample(5500, 3500);
  assert.equal(meter.rate, 2000 + 0.5 * (1000 - 2000));
});

test('counts, durations and ETA are formatted compactly', () => {
  assert.deepEqual([950, 12_345, 999_999, 4_000_000, 2.5e9].map(formatCount), [
    '950',
    '12.3k',
    '1.00M',
    '4.00M',
    '2.50B',
  ]);
  assert.deepEqual([0, 42_000, 185_000, 7_620_000].map(formatDuration), ['0s', '42s', '3m05s', '2h07m']);
  assert.equal(etaMs(view()), ((4_000_000 - 1_230_000) / 1200) * 1000);
  assert.equal(etaMs(view({ total: undefined })), undefined);
  assert.equal(etaMs(view({ rate: undefined })), undefined);
});

test('a plain line carries done/total, percent, rate and ETA; unknown parts are left out', () => {
  assert.equal(formatLine(view()), 'summarize: 1.23M / 4.00M tokens  30.8%  1.20k tok/s  ETA 38m28s');
  assert.equal(formatLine(view({ total: undefined, rate: undefined })), 'summarize: 1.23M tokens');
  assert.equal(
    formatLine(view({ label: 'model.pth', unit: 'bytes', done: 191_000_000, total: 382_000_000, rate: 25_000_000 })),
    'model.pth: 191 MB / 382 MB  50.0%  25 MB/s  ETA 8s',
  );
  assert.equal(
    formatSummary(view({ done: 4_000_000, elapsedMs: 100_000 })),
    'summarize: 4.00M tokens in 1m40s (40.0k tok/s)',
  );
});

test('the bar fills with the fraction done and never exceeds the terminal width', () => {
  const wide = formatBar(view({ done: 2_000_000 }), 120);
  const bar = /\[(#*)(-*)\]/.exec(wide)!;
  assert.equal(bar[1]!.length, bar[2]!.length);
  for (const columns of [120, 80, 60, 30]) assert.ok(formatBar(view(), columns).length < columns, `${columns}`);
  assert.ok(!formatBar(view(), 40).includes('['));
});

test('on a terminal the bar is redrawn in place, at most every redraw interval, and replaced by the summary', () => {
  const stream = new FakeStream(true, 100);
  const time = clock();
  const progress = new Progress({ label: 'summarize', total: 10_000, stream, now: time.now, redrawMs: 100 });
  assert.equal(progress.mode, 'tty');
  time.advance(50);
  progress.update(1000);
  assert.equal(stream.chunks.length, 0);
  time.advance(50);
  progress.update(2000);
  time.advance(100);
  progress.advance(2000);
  assert.equal(stream.chunks.length, 2);
  for (const chunk of stream.chunks) {
    assert.ok(chunk.startsWith('\r') && chunk.endsWith('\x1b[K'), JSON.stringify(chunk));
    assert.ok(!chunk.includes('\n'));
  }
  assert.match(stream.chunks[1]!, /4\.00k \/ 10\.0k tokens {2}40\.0%/);
  progress.finish();
  progress.finish();
  assert.equal(stream.chunks.length, 3);
  assert.equal(stream.chunks[2], '\rsummarize: 4.00k tokens in 0s (20.0k tok/s)\x1b[K\n');
});

test('off a terminal, plain lines come every interval and once at the end', () => {
  const stream = new FakeStream(false);
  const time = clock();
  const progress = new Progress({ label: 'scan', total: 1_000_000, stream, now: time.now, intervalMs: 5000 });
  assert.equal(progress.mode, 'lines');
  for (let i = 1; i <= 12; i++) {
    time.advance(1000);
    progress.update(i * 10_000);
  }
  const lines = stream.text.split('\n').filter(Boolean);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^scan: 50\.0k \/ 1\.00M tokens {2}5\.0% {2}10\.0k tok\/s {2}ETA 1m35s$/);
  assert.match(lines[1]!, /^scan: 100k \/ 1\.00M tokens {2}10\.0%/);
  progress.finish();
  const all = stream.text.split('\n').filter(Boolean);
  assert.equal(all.length, 3);
  assert.equal(all[2], 'scan: 120k tokens in 12s (10.0k tok/s)');
  assert.ok(!stream.text.includes('\r') && !stream.text.includes('\x1b'));
});

test('a resumed count measures only the new work; quiet writes nothing; stop clears a terminal bar', () => {
  const time = clock();
  const lines = new FakeStream(false);
  const resumed = new Progress({
    label: 'pull',
    unit: 'bytes',
    initial: 5_000_000,
    total: 10_000_000,
    stream: lines,
    now: time.now,
  });
  time.advance(1000);
  resumed.update(6_000_000);
  assert.equal(resumed.view().rate, 1_000_000);
  resumed.finish();
  assert.equal(lines.text, 'pull: 6 MB in 1s (1 MB/s)\n');

  const quietStream = new FakeStream(true);
  const quiet = new Progress({ label: 'x', total: 10, stream: quietStream, quiet: true, now: time.now });
  time.advance(10_000);
  quiet.update(5);
  quiet.finish();
  assert.equal(quiet.mode, 'quiet');
  assert.deepEqual(quietStream.chunks, []);

  const tty = new FakeStream(true);
  const stopped = new Progress({ label: 'x', total: 10, stream: tty, now: time.now });
  time.advance(1000);
  stopped.update(5);
  stopped.stop();
  stopped.finish();
  assert.equal(tty.chunks.at(-1), '\r\x1b[K');
  assert.equal(tty.chunks.length, 2);
});

test('download progress reports each file of a pull separately, in bytes', () => {
  const stream = new FakeStream(false);
  const time = clock();
  const progress = downloadProgress({ stream, now: time.now });
  progress.onProgress({ name: 'g1-0.1b', file: 'model.pth', done: 0, total: 4_000_000 });
  time.advance(2000);
  progress.onProgress({ name: 'g1-0.1b', file: 'model.pth', done: 4_000_000, total: 4_000_000 });
  progress.onProgress({ name: 'world', file: 'vocab.txt', done: 0, total: 1_000_000 });
  time.advance(500);
  progress.onProgress({ name: 'world', file: 'vocab.txt', done: 1_000_000, total: 1_000_000 });
  progress.end();
  progress.end();
  assert.equal(stream.text, 'model.pth: 4 MB in 2s (2 MB/s)\nvocab.txt: 1 MB in 1s (2 MB/s)\n');
});
