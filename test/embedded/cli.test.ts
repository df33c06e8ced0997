// The embedded commands end to end on the tiny byte-level model: summarize, classify and scan on multi-chunk
// inputs (--json in the results schema, and text), standard input, progress on stderr, and what happens to a
// run that is killed, stopped with Ctrl-C, finds its checkpoint damaged, or cannot write it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { AnomalyResultSchema, ClassifyResultSchema, SummarizeResultSchema } from '../../schemas/results.ts';
import { formatAmount } from '../../services/cli/progress.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import {
  cli,
  isolatedEnv,
  committedHead,
  jobDirs,
  startCli,
  tempDir,
  waitForCheckpoint,
  type CliOptions,
} from './helpers.ts';

const home = tempDir('home');
const ENV = isolatedEnv(home);

const inputs = tempDir('inputs');
const DOC = path.join(inputs, 'river.txt');
const LONG = path.join(inputs, 'long.txt');
const LOG = path.join(inputs, 'app.log');
const DOC_TEXT = Array.from(
  { length: 50 },
  (_, i) => `Entry ${i}: the river rose after ${i % 7} days of rain, and the town watched it.\n`,
).join('');
const LOG_LINES = Array.from({ length: 40 }, (_, i) =>
  i === 29
    ? 'kernel: BUG: unable to handle page fault at 0xdeadbeef'
    : i % 11 === 6
      ? ''
      : `GET /item/${i % 4} 200 ${10 + (i % 3)}ms`,
);

before(() => {
  writeFileSync(DOC, DOC_TEXT);
  writeFileSync(LONG, DOC_TEXT.repeat(2));
  writeFileSync(LOG, `${LOG_LINES.join('\n')}\n`);
});

function run(args: string[], options: CliOptions = {}) {
  return cli(args, { ...options, env: { ...ENV, ...options.env } });
}

function start(args: string[]) {
  return startCli(args, { env: ENV });
}

const model = ['--model', tinyModel];

test('summarize reads a multi-chunk document and prints the result JSON, or the summary as text', async () => {
  const checkpoints = tempDir('ckpt');
  const json = await run([
    'summarize',
    DOC,
    ...model,
    '--chunk-tokens',
    '64',
    '--max-tokens',
    '32',
    '--checkpoint-dir',
    checkpoints,
    '--json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  const result = SummarizeResultSchema.parse(JSON.parse(json.stdout));
  assert.equal(result.id, 'river.txt');
  assert.equal(result.tokens, Buffer.byteLength(DOC_TEXT));
  assert.equal(result.chunkTokens, 64);
  assert.equal(result.chunks, Math.ceil(result.tokens / 64));
  assert.equal(result.tokenizer.kind, 'bytes');
  assert.equal(result.summary.generatedTokens <= 32, true);
  // Not a terminal: plain progress lines, ending with the closing line.
  assert.match(json.stderr, /^summarize: 3\.\d+k tokens in \d+s \([\d.k]+ tok\/s\)$/m);
  assert.deepEqual(jobDirs(checkpoints), [], 'a finished job leaves no checkpoint');

  const text = await run([
    'summarize',
    DOC,
    ...model,
    '--chunk-tokens',
    '64',
    '--max-tokens',
    '32',
    '--checkpoint-dir',
    checkpoints,
    '--quiet',
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, `${result.summary.text.trim()}\n`);
  assert.equal(text.stderr, '', '--quiet: nothing on stderr');
});

test('summarize - reads standard input: the same result as the file under the same id', async () => {
  const checkpoints = tempDir('ckpt');
  const args = [
    ...model,
    '--chunk-tokens',
    '64',
    '--max-tokens',
    '16',
    '--checkpoint-dir',
    checkpoints,
    '--json',
    '--quiet',
  ];
  const [fromFile, fromStdin] = await Promise.all([
    run(['summarize', DOC, ...args]),
    run(['summarize', '-', '--id', 'river.txt', ...args], { stdin: DOC_TEXT }),
  ]);
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, fromFile.stdout);
  const unnamed = await run(['summarize', '-', ...args], { stdin: DOC_TEXT });
  assert.equal(SummarizeResultSchema.parse(JSON.parse(unnamed.stdout)).id, 'stdin');
  assert.deepEqual(readdirSync(checkpoints), [], 'nothing is left of the copies of standard input');
});

test('classify prints the distribution over the labels as JSON, or as a table', async () => {
  const checkpoints = tempDir('ckpt');
  const args = [
    'classify',
    DOC,
    ...model,
    '--labels',
    'weather, finance ,sports',
    '--chunk-tokens',
    '64',
    '--checkpoint-dir',
    checkpoints,
  ];
  const json = await run([...args, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const result = ClassifyResultSchema.parse(JSON.parse(json.stdout));
  assert.deepEqual(
    result.classification.labels.map((l) => l.label),
    ['weather', 'finance', 'sports'],
  );
  assert.ok(Math.abs(result.classification.labels.reduce((sum, l) => sum + l.probability, 0) - 1) < 1e-9);
  assert.equal(result.chunks, Math.ceil(Buffer.byteLength(DOC_TEXT) / 64));

  const text = await run([...args, '--quiet']);
  const rows = text.stdout.split('\n');
  assert.match(rows[0]!, /^label\s+probability\s+log-prob$/);
  const sorted = [...result.classification.labels].sort((a, b) => b.probability - a.probability);
  sorted.forEach((label, i) => {
    assert.match(
      rows[i + 1]!,
      new RegExp(`^${label.label}\\s+${(100 * label.probability).toFixed(1)}%\\s+${label.logprob.toFixed(2)}\\s+#*$`),
    );
  });
  assert.equal(rows.at(-2), `best: ${result.classification.best}`);
});

test('scan scores every non-empty line in batches, as JSON lines or as text with alerts marked', async () => {
  const checkpoints = tempDir('ckpt');
  const args = ['scan', LOG, ...model, '--batch-lines', '8', '--checkpoint-dir', checkpoints];
  const json = await run([...args, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const batches = json.stdout
    .trim()
    .split('\n')
    .map((line) => AnomalyResultSchema.parse(JSON.parse(line)));
  const eventLines = LOG_LINES.flatMap((line, i) => (line.length > 0 ? [i + 1] : []));
  assert.deepEqual(
    batches.map((b) => b.batch),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    batches.map((b) => b.events.length),
    [8, 8, 8, 8, eventLines.length - 32],
  );
  const events = batches.flatMap((b) => b.events);
  assert.deepEqual(
    events.map((e) => Number(e.offset)),
    eventLines,
    'each score names its line',
  );
  assert.ok(events.every((e) => e.topic === 'app.log' && e.tokens > 0));
  assert.ok(
    batches.every((b, i) => i === 0 || b.tokens > batches[i - 1]!.tokens),
    'one stream state reads the whole log',
  );

  // A threshold between the scores: exactly the lines above it are marked.
  const sorted = events.map((e) => e.surprise).sort((a, b) => a - b);
  const threshold = (sorted[Math.floor(sorted.length / 2)]! + sorted[Math.floor(sorted.length / 2) + 1]!) / 2;
  const text = await run([...args, '--threshold', String(threshold), '--quiet']);
  assert.equal(text.code, 0, text.stderr);
  const rows = text.stdout.split('\n').filter((row) => /^\s+\d+\s/.test(row));
  assert.equal(rows.length, events.length);
  rows.forEach((row, i) => {
    const event = events[i]!;
    const marked = event.surprise > threshold;
    assert.equal(
      row,
      `${event.offset.padStart(7)}  ${event.surprise.toFixed(2).padStart(8)}  ${marked ? 'ALERT' : '     '}  ${LOG_LINES[Number(event.offset) - 1]}`,
    );
  });
  const alerts = events.filter((e) => e.surprise > threshold).length;
  assert.match(text.stdout, new RegExp(`${events.length} lines scored, ${alerts} alerts`));

  const fromStdin = await run(
    ['scan', '-', ...model, '--batch-lines', '8', '--checkpoint-dir', checkpoints, '--json', '--quiet'],
    { stdin: readFileSync(LOG) },
  );
  const stdinEvents = fromStdin.stdout
    .trim()
    .split('\n')
    .flatMap((line) => AnomalyResultSchema.parse(JSON.parse(line)).events);
  assert.deepEqual(
    stdinEvents.map(({ topic: _t, ...rest }) => rest),
    events.map(({ topic: _t, ...rest }) => rest),
  );
  assert.ok(stdinEvents.every((e) => e.topic === 'stdin'));
});

// ---- interruptions ----------------------------------------------------------------------------------------

const LONG_ARGS = [...model, '--chunk-tokens', '16', '--max-tokens', '24', '--json'];
let reference: Promise<string> | undefined;

/** The uninterrupted result of summarizing LONG, computed once in a directory of its own. */
function uninterrupted(): Promise<string> {
  reference ??= run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', tempDir('ckpt'), '--quiet']).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  });
  return reference;
}

async function interrupted(signal: 'SIGKILL' | 'SIGINT', checkpoints: string) {
  const started = start(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints]);
  await waitForCheckpoint(started, checkpoints, 5);
  started.child.kill(signal);
  const ended = await started.done;
  const head = committedHead(checkpoints)!;
  return { ended, head };
}

test('a run killed with SIGKILL resumes from its last checkpoint and prints the uninterrupted result', async () => {
  const checkpoints = tempDir('ckpt');
  const [expected, { ended, head }] = await Promise.all([uninterrupted(), interrupted('SIGKILL', checkpoints)]);
  assert.equal(ended.signal, 'SIGKILL');
  assert.equal(ended.stdout, '');
  const chunks = Math.ceil((Buffer.byteLength(DOC_TEXT) * 2) / 16);
  assert.ok(head.chunk >= 5 && head.chunk < chunks, `killed in the middle (chunk ${head.chunk} of ${chunks})`);

  const resumed = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints]);
  assert.equal(resumed.code, 0, resumed.stderr);
  // Only the chunk in flight was lost: the run starts where the last commit left the state.
  assert.ok(
    resumed.stderr.startsWith(`resuming from the checkpoint: ${formatAmount(head.chunk * 16, 'tokens')} of `),
    resumed.stderr,
  );
  assert.equal(resumed.stdout, expected);
  assert.deepEqual(jobDirs(checkpoints), []);
});

test('Ctrl-C stops after the chunk in hand, says how to resume, and the same command finishes the job', async () => {
  const checkpoints = tempDir('ckpt');
  const started = start(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints]);
  await waitForCheckpoint(started, checkpoints, 5);
  // Frozen while a second run of the same command tries its luck: the job is taken.
  started.child.kill('SIGSTOP');
  const busy = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints]);
  assert.equal(busy.code, 1);
  assert.match(
    busy.stderr,
    new RegExp(`E_JOB_BUSY: another rwkvstream process \\(pid ${started.child.pid}\\) is running this job`),
  );
  started.child.kill('SIGINT');
  started.child.kill('SIGCONT');
  const ended = await started.done;
  assert.equal(ended.code, 130);
  assert.match(ended.stderr, /rwkvstream: interrupted; run the same command again to resume \(chunk \d+ of \d+, in /);
  assert.equal(ended.stdout, '');
  const head = committedHead(checkpoints)!;
  assert.ok(!readdirSync(head.dir).includes('lock'), 'the lock is given back');

  const resumed = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.stdout, await uninterrupted());
});

test('a damaged checkpoint is refused by name; --restart starts over and gives the same result', async () => {
  const checkpoints = tempDir('ckpt');
  const { head } = await interrupted('SIGINT', checkpoints);
  const blob = path.join(head.dir, head.blob);
  const bytes = readFileSync(blob);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0x40, bytes.length - 10);
  writeFileSync(blob, bytes);

  const refused = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints]);
  assert.equal(refused.code, 1);
  assert.ok(refused.stderr.includes(`E_CHECKPOINT_CORRUPT: the checkpoint file ${blob} is damaged`), refused.stderr);
  assert.match(refused.stderr, /--restart/);
  assert.deepEqual(readFileSync(blob), bytes, 'the damaged file is left for the user to decide');

  const restarted = await run([
    'summarize',
    LONG,
    ...LONG_ARGS,
    '--checkpoint-dir',
    checkpoints,
    '--restart',
    '--quiet',
  ]);
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.equal(restarted.stdout, await uninterrupted());
});

test('a checkpoint that cannot be written stops the run with the reason and keeps the last good one', async () => {
  const checkpoints = tempDir('ckpt');
  const { head } = await interrupted('SIGINT', checkpoints);
  const headFile = readdirSync(head.dir).find((name) => name.endsWith('.head.json'))!;
  const before = readFileSync(path.join(head.dir, headFile));
  // A file size limit below the size of a state: every blob write fails (EFBIG), as on a full disk.
  const failing = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints], {
    fileSizeLimitBlocks: 64,
  });
  assert.equal(failing.code, 1);
  assert.match(
    failing.stderr,
    /E_CHECKPOINT_WRITE: cannot write \S+\.state: the file would exceed the size this process may write \(EFBIG\)/,
  );
  assert.match(failing.stderr, /the last good checkpoint is kept/);
  assert.deepEqual(readFileSync(path.join(head.dir, headFile)), before);
  assert.deepEqual(
    readdirSync(head.dir).filter((name) => name.includes('.tmp-')),
    [],
  );

  const resumed = await run(['summarize', LONG, ...LONG_ARGS, '--checkpoint-dir', checkpoints, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.stdout, await uninterrupted());
});

// ---- refusals ---------------------------------------------------------------------------------------------

test('an unusable checkpoint directory, a missing model, bad options and bad input are refused with the reason', async () => {
  const blocker = path.join(tempDir('blocked'), 'a-file');
  writeFileSync(blocker, '');
  const emptyHome = tempDir('home');
  mkdirSync(path.join(inputs, 'empty-dir'), { recursive: true });
  const empty = path.join(inputs, 'empty.txt');
  writeFileSync(empty, '');
  const [dir, noModel, oneLabel, badNumber, emptyInput, missing] = await Promise.all([
    run(['summarize', DOC, ...model, '--checkpoint-dir', path.join(blocker, 'checkpoints')]),
    run(['summarize', DOC], { env: { RWKVSTREAM_HOME: emptyHome } }),
    run(['classify', DOC, ...model, '--labels', 'only']),
    run(['summarize', DOC, ...model, '--max-tokens', 'many']),
    run(['summarize', empty, ...model, '--checkpoint-dir', tempDir('ckpt')]),
    run(['scan', path.join(inputs, 'no-such.log'), ...model, '--checkpoint-dir', tempDir('ckpt')]),
  ]);
  assert.equal(dir.code, 1);
  assert.match(
    dir.stderr,
    /E_CHECKPOINT_DIR: cannot use the checkpoint directory .*a-file\/checkpoints: a part of the path is not a directory \(ENOTDIR\); give a writable directory with --checkpoint-dir/,
  );
  assert.equal(noModel.code, 1);
  assert.match(noModel.stderr, /E_MODEL_NOT_FOUND: no model is configured or cached, and offline mode is on/);
  assert.match(noModel.stderr, /--model FILE/);
  assert.match(noModel.stderr, /rwkvstream models pull/);
  assert.equal(oneLabel.code, 2);
  assert.match(oneLabel.stderr, /--labels: classify needs at least two labels/);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--max-tokens must be a number, got "many"/);
  assert.equal(emptyInput.code, 2);
  assert.match(emptyInput.stderr, /empty\.txt is empty/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /E_INPUT: cannot read .*no-such\.log: no such file or directory/);
});
