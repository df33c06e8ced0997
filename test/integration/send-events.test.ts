// Live event analysis end to end on the real broker and Redis: `rwkvstream send-events` publishes a log's
// lines, a worker scores each stream with its adaptive threshold, and `rwkvstream result --stream --follow`
// prints every batch as it is scored; `result --stream` shows the recent history.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { AdaptiveThreshold } from '../../pipelines/thresholds.ts';
import { AnomalyResultSchema, type AnomalyResult } from '../../schemas/results.ts';
import { cli, isolatedEnv, tempDir, type CliRun } from '../embedded/helpers.ts';
import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';
import { redisUrl } from './helpers/services.ts';
import { startTestWorker } from './helpers/worker.ts';

const RULE = { alertRate: 0.2, warmupEvents: 5 };
const deployment = useDeployment('send-events', {
  partitions: 2,
  setUp: async (d) => {
    const worker = await startTestWorker(
      d,
      {},
      { anomaly: { batchEvents: 4, batchMs: 300, threshold: 'auto', ...RULE } },
    );
    d.onTeardown(() => worker.stop());
  },
});
const { prefix, topics } = deployment;
const ENV = isolatedEnv(tempDir('home'));
const redisArgs = ['--redis', redisUrl, '--prefix', prefix];

/** A CLI command left running, with its output so far; `stop` sends Ctrl-C and waits for its exit. */
function running(args: string[]): { stdout: () => string; stop: () => Promise<CliRun> } {
  const child = spawn(process.execPath, [cliEntry, ...args], { env: { ...process.env, ...ENV } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    stdout: () => stdout,
    stop: () => {
      child.kill('SIGINT');
      return done;
    },
  };
}

const batchesOf = (stdout: string): AnomalyResult[] =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => AnomalyResultSchema.parse(JSON.parse(l)));

async function until(what: string, check: () => boolean, limitMs = 90_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const webLine = (i: number) =>
  i === 9 ? 'FATAL: \u00ff\u00fe~~}{#@!QZXJ segfault' : `GET /page/${i % 3} 200 ${12 + (i % 5)}ms`;

test("send-events --follow -> worker -> result --stream --follow: every batch printed as it is scored, alerts by the stream's own rule", {
  timeout: 180_000,
}, async () => {
  const follower = running(['result', 'web', '--stream', '--follow', ...redisArgs]);
  const dir = tempDir('send');
  const log = path.join(dir, 'web.log');
  const lines = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) => `${webLine(from + k)}\n`).join('');
  writeFileSync(log, lines(0, 10));
  const sender = running([
    'send-events',
    log,
    '--follow',
    '--stream',
    'web',
    '--kafka',
    deployment.brokers.join(','),
    '--topic-events',
    topics.events,
  ]);
  const followed = () => batchesOf(follower.stdout()).flatMap((b) => b.events).length;
  await until('the first 10 events followed', () => followed() >= 10);
  // Lines appended to the followed log are sent, scored and followed as they come.
  appendFileSync(log, lines(10, 14));
  await until('14 events followed', () => followed() >= 14);
  const sent = await sender.stop();
  assert.equal(sent.code, 130, sent.stderr);
  assert.match(sent.stderr, /14 events sent/);
  const end = await follower.stop();
  const batches = batchesOf(end.stdout);
  assert.deepEqual(
    batches.map((b) => b.batch),
    batches.map((_, i) => i),
    'every batch once, in order',
  );
  const events = batches.flatMap((b) => b.events);
  assert.deepEqual(
    events.map((e) => e.text),
    Array.from({ length: 14 }, (_, i) => webLine(i)),
    'each event carries its line',
  );
  assert.ok(
    batches.every((b) => b.thresholdState === undefined),
    "the threshold's history stays in the checkpoint",
  );

  // The stream's adaptive threshold, applied to its own scores in order, gives exactly the worker's alerts.
  const rule = new AdaptiveThreshold(null, RULE.alertRate, RULE.warmupEvents);
  for (const e of events) {
    const judged = rule.judge(e.surprise);
    assert.equal(e.threshold, judged.threshold, `event ${e.seq}: threshold`);
    assert.equal(e.alert, judged.alert, `event ${e.seq}: alert`);
  }
  assert.ok(
    events.slice(0, RULE.warmupEvents).every((e) => !e.alert && e.threshold === undefined),
    'no alert while warming up',
  );
  assert.equal(events[9]!.alert, true, 'the garbage line is an alert');

  // The recent history: the last batches, oldest first (not only the latest).
  const recent = await cli(['result', 'web', '--stream', '--last', '2', ...redisArgs], { env: ENV });
  assert.equal(recent.code, 0, recent.stderr);
  assert.deepEqual(batchesOf(recent.stdout), batches.slice(-2));
});

test('send-events --key-field sends each JSON line to the stream it names', { timeout: 180_000 }, async () => {
  const lines = [
    { host: 'db-1', msg: 'checkpoint complete' },
    { host: 'db-2', msg: 'checkpoint complete' },
    { host: 'db-1', msg: 'vacuum done' },
    { msg: 'no host field' },
    { host: 'bad key!', msg: 'not an id' },
    { host: 'db-2', msg: 'vacuum done' },
  ].map((o) => JSON.stringify(o));
  const sent = await cli(
    [
      'send-events',
      '-',
      '--key-field',
      'host',
      '--kafka',
      deployment.brokers.join(','),
      '--topic-events',
      topics.events,
    ],
    { env: ENV, stdin: `${lines.join('\n')}\n` },
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stderr, /line 4 not sent: it is not a JSON object with a string or number "host"/);
  assert.match(sent.stderr, /line 5 not sent: its host is not a stream id/);
  assert.match(sent.stderr, /4 events sent/);
  for (const [stream, wanted] of [
    ['db-1', [lines[0], lines[2]]],
    ['db-2', [lines[1], lines[5]]],
  ] as const) {
    let got: string[] = [];
    const deadline = Date.now() + 60_000;
    while (got.length < 2 && Date.now() < deadline) {
      const out = await cli(['result', stream, '--stream', ...redisArgs], { env: ENV });
      got = out.code === 0 ? batchesOf(out.stdout).flatMap((b) => b.events.map((e) => e.text!)) : [];
      if (got.length < 2) await sleep(300);
    }
    assert.deepEqual(got, wanted, `${stream}: its lines, in order`);
  }
});
