// `scan` as a stream, end to end through the CLI on the tiny byte-level model: lines written slowly into
// `scan -` are printed before the input closes; `--follow` reads appends and goes on across a rotation; a scan
// stopped with Ctrl-C resumes by id and position, printing every line once, with the same scores and the same
// adaptive alerts as an uninterrupted scan; control characters of a line never reach the terminal.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { AnomalyResultSchema, type AnomalyResult, type EventScore } from '../../schemas/results.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { cli, isolatedEnv, jobDirs, tempDir, type CliRun } from './helpers.ts';

const ENV = isolatedEnv(tempDir('home'));
const model = ['--model', tinyModel];

/** A running CLI whose standard input stays open, with its output so far. */
interface Live {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  done: Promise<CliRun>;
}

function live(args: string[]): Live {
  const child = spawn(process.execPath, [cliEntry, ...args], { env: { ...process.env, ...ENV } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, done };
}

function batchesOf(stdout: string): AnomalyResult[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => AnomalyResultSchema.parse(JSON.parse(l)));
}

const eventsOf = (stdout: string): EventScore[] => batchesOf(stdout).flatMap((b) => b.events);

/** Waits until the output holds at least `count` events, failing if the process exits or time runs out. */
async function untilEvents(run: Live, count: number, limitMs = 120_000): Promise<EventScore[]> {
  const deadline = Date.now() + limitMs;
  let exited = false;
  void run.done.then(() => (exited = true));
  for (;;) {
    const events = eventsOf(run.stdout());
    if (events.length >= count) return events;
    if (exited) throw new Error(`the CLI exited before printing ${count} events: ${(await run.done).stderr}`);
    if (Date.now() > deadline) throw new Error(`fewer than ${count} events after ${limitMs} ms: ${events.length}`);
    await sleep(50);
  }
}

const logLine = (i: number) =>
  i % 17 === 13 ? `ERROR worker ${i}: connection reset by peer` : `GET /item/${i % 5} 200 ${10 + (i % 3)}ms`;
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => `${logLine(from + k)}\n`).join('');

/** Scores and alerts, without where the lines came from (a file's name, or stdin; a rotation's generation). */
const judged = (events: EventScore[]) =>
  events.map(({ seq, tokens, surprise, alert, threshold, text }) => ({
    seq,
    tokens,
    surprise,
    alert,
    threshold,
    text,
  }));

test('lines written slowly into scan - are printed as they are scored, before the input closes', async () => {
  const run = live([
    'scan',
    '-',
    ...model,
    '--json',
    '--quiet',
    '--batch-ms',
    '200',
    '--checkpoint-dir',
    tempDir('ckpt'),
  ]);
  for (let i = 0; i < 4; i++) {
    run.child.stdin.write(`${logLine(i)}\n`);
    await sleep(300);
  }
  // The model is loaded while the first lines wait; every line written so far is printed with the input open.
  const events = await untilEvents(run, 4);
  assert.equal(run.child.exitCode, null, 'still running: standard input is open');
  assert.deepEqual(
    events.map((e) => e.text),
    [0, 1, 2, 3].map(logLine),
  );
  run.child.stdin.write(`${logLine(4)}\n`);
  await untilEvents(run, 5);
  run.child.stdin.end();
  const end = await run.done;
  assert.equal(end.code, 0, end.stderr);
  assert.deepEqual(
    eventsOf(end.stdout).map((e) => e.seq),
    [1, 2, 3, 4, 5],
  );
});

test('scan --follow reads lines as they are appended, and the new file after a rotation', async () => {
  const dir = tempDir('follow');
  const log = path.join(dir, 'app.log');
  writeFileSync(log, lines(0, 10));
  const run = live([
    'scan',
    log,
    '--follow',
    ...model,
    '--json',
    '--quiet',
    '--batch-lines',
    '4',
    '--batch-ms',
    '100',
    '--checkpoint-dir',
    tempDir('ckpt'),
  ]);
  await untilEvents(run, 10);
  appendFileSync(log, lines(10, 14));
  await untilEvents(run, 14);
  // Rotated: the old file gets a last line before it is moved away; the new one starts empty and grows.
  appendFileSync(log, lines(14, 15));
  renameSync(log, `${log}.1`);
  writeFileSync(log, lines(15, 18));
  const events = await untilEvents(run, 18);
  run.child.kill('SIGINT');
  const end = await run.done;
  assert.equal(end.code, 130, end.stderr);
  assert.deepEqual(
    events.map((e) => e.text),
    Array.from({ length: 18 }, (_, i) => logLine(i)),
    'every line once, in order',
  );
  assert.deepEqual(
    events.map((e) => `${e.partition}:${e.offset}`),
    [...Array.from({ length: 15 }, (_, i) => `0:${i + 1}`), '1:1', '1:2', '1:3'],
    'the new file is generation 1, numbered from its first line',
  );
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: 18 }, (_, i) => i + 1),
    'one stream across the rotation',
  );
});

test('Ctrl-C then a resumed scan prints every line once, with the scores and adaptive alerts of an uninterrupted scan', async () => {
  const dir = tempDir('resume');
  const log = path.join(dir, 'app.log');
  writeFileSync(log, lines(0, 120));
  const args = [...model, '--json', '--quiet', '--batch-lines', '8', '--warmup-lines', '20', '--alert-rate', '0.05'];
  const reference = await cli(['scan', log, ...args, '--checkpoint-dir', tempDir('ckpt')], { env: ENV });
  assert.equal(reference.code, 0, reference.stderr);
  const all = eventsOf(reference.stdout);
  assert.equal(all.length, 120);
  assert.ok(
    all.slice(0, 20).every((e) => !e.alert && e.threshold === undefined),
    'no alert while the stream warms up',
  );
  assert.ok(all.slice(20).every((e) => e.threshold !== undefined && e.alert === e.surprise > e.threshold));
  assert.ok(
    all.some((e) => e.alert),
    'the rare lines are alerts',
  );

  // Stopped mid-way, then appended to: the resumed scan reads on from its position, under the same id.
  const checkpoints = tempDir('ckpt');
  const first = live(['scan', log, '--follow', ...args, '--checkpoint-dir', checkpoints]);
  await untilEvents(first, 24);
  first.child.kill('SIGINT');
  const stopped = await first.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.equal(jobDirs(checkpoints).length, 1, 'the checkpoint is kept');
  // Its position: the line and byte offset after the last line committed (and printed).
  const position = JSON.parse(readFileSync(path.join(jobDirs(checkpoints)[0]!, 'position.json'), 'utf8'));
  const lastPrinted = eventsOf(stopped.stdout).at(-1)!;
  assert.equal(position.seq, lastPrinted.seq);
  assert.equal(position.line, Number(lastPrinted.offset));
  assert.equal(position.byte, Buffer.byteLength(lines(0, position.line)));
  const second = await cli(['scan', log, ...args, '--checkpoint-dir', checkpoints], { env: ENV });
  assert.equal(second.code, 0, second.stderr);
  const printed = [...batchesOf(stopped.stdout), ...batchesOf(second.stdout)];
  assert.deepEqual(
    printed.flatMap((b) => b.events.map((e) => e.seq)),
    all.map((e) => e.seq),
    'every line printed once',
  );
  assert.deepEqual(judged(printed.flatMap((b) => b.events)), judged(all), 'the same scores, thresholds and alerts');
  assert.ok(
    printed.every((b) => b.thresholdState === undefined),
    "the threshold's history stays in the checkpoint",
  );
  assert.deepEqual(jobDirs(checkpoints), [], 'read to its end: the checkpoint is removed');
});

test("a stopped scan - continues the stream's state with the lines the next run with the same --id is given", async () => {
  const args = [...model, '--json', '--quiet', '--batch-lines', '4', '--warmup-lines', '6', '--alert-rate', '0.2'];
  const dir = tempDir('stdin');
  writeFileSync(path.join(dir, 'whole.log'), lines(0, 14));
  const reference = eventsOf(
    (await cli(['scan', path.join(dir, 'whole.log'), ...args, '--checkpoint-dir', tempDir('ckpt')], { env: ENV }))
      .stdout,
  );

  const checkpoints = tempDir('ckpt');
  const first = live(['scan', '-', '--id', 'web-1', ...args, '--checkpoint-dir', checkpoints]);
  first.child.stdin.write(lines(0, 9));
  await untilEvents(first, 9);
  first.child.kill('SIGINT');
  assert.equal((await first.done).code, 130);
  const second = await cli(['scan', '-', '--id', 'web-1', ...args, '--checkpoint-dir', checkpoints], {
    env: ENV,
    stdin: lines(9, 14),
  });
  assert.equal(second.code, 0, second.stderr);
  const events = [...eventsOf((await first.done).stdout), ...eventsOf(second.stdout)];
  assert.deepEqual(judged(events), judged(reference), "the second run continued the first one's state and threshold");
  assert.ok(events.every((e) => e.topic === 'stdin'));

  // Another id is another stream: it starts fresh.
  const other = await cli(['scan', '-', '--id', 'web-2', ...args, '--checkpoint-dir', checkpoints], {
    env: ENV,
    stdin: lines(9, 14),
  });
  assert.deepEqual(
    eventsOf(other.stdout).map((e) => e.seq),
    [1, 2, 3, 4, 5],
  );
});

test('text output escapes control characters, marks cut text, sums up the last partial window; --alerts-only with --json', async () => {
  const dir = tempDir('text');
  const log = path.join(dir, 'hostile.log');
  writeFileSync(log, `${lines(0, 6)}evil \x1b[2J\x1b]0;pwned\x07 \u202eright-to-left\r\n${'long '.repeat(20)}\n`);
  const text = await cli(
    [
      'scan',
      log,
      ...model,
      '--quiet',
      '--threshold',
      '4',
      '--window-events',
      '5',
      '--event-text',
      '40',
      '--checkpoint-dir',
      tempDir('ckpt'),
    ],
    { env: ENV },
  );
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/, 'no control character reaches the terminal');
  assert.match(text.stdout, /evil \\x1b\[2J\\x1b\]0;pwned\\x07 \\u\{202e\}right-to-left\n/);
  assert.match(text.stdout, new RegExp(`  ${'long '.repeat(8)}…\\n`));
  assert.match(text.stdout, /^-- window 0: lines 1-5, 5 lines/m);
  assert.match(text.stdout, /^-- window 1 \(partial: the input ended\): lines 6-8, 3 lines/m);
  assert.match(text.stdout, /8 lines scored, \d+ alerts? \(surprise above 4 nats per token\)/);

  const json = await cli(
    [
      'scan',
      log,
      ...model,
      '--quiet',
      '--json',
      '--alerts-only',
      '--threshold',
      '4',
      '--checkpoint-dir',
      tempDir('ckpt'),
    ],
    { env: ENV },
  );
  const all = await cli(
    ['scan', log, ...model, '--quiet', '--json', '--threshold', '4', '--checkpoint-dir', tempDir('ckpt')],
    { env: ENV },
  );
  const alerts = eventsOf(all.stdout).filter((e) => e.alert);
  assert.deepEqual(eventsOf(json.stdout), alerts, 'only the alerts');
});

test('a named pipe is read as it arrives, like standard input', async () => {
  const fifo = path.join(tempDir('fifo'), 'events.pipe');
  execFileSync('mkfifo', [fifo]);
  const run = live([
    'scan',
    fifo,
    ...model,
    '--json',
    '--quiet',
    '--batch-ms',
    '100',
    '--checkpoint-dir',
    tempDir('ckpt'),
  ]);
  const writer = createWriteStream(fifo);
  writer.write(lines(0, 3));
  const events = await untilEvents(run, 3);
  assert.equal(run.child.exitCode, null, 'still running: the pipe is open');
  assert.deepEqual(
    events.map((e) => [e.topic, e.text]),
    [0, 1, 2].map((i) => ['events.pipe', logLine(i)]),
  );
  writer.end(lines(3, 4));
  const end = await run.done;
  assert.equal(end.code, 0, end.stderr);
  assert.equal(eventsOf(end.stdout).length, 4);
});
