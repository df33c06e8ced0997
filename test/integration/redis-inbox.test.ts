// A deployment without Kafka, on the real Redis: `submit --redis` puts documents on the inbox queue and a
// `worker` without brokers takes them in through the same ingest as the Kafka path — a small document in one
// record, a large one in parts, the same document twice (one result), records that are not JSON, break the
// schema or have no value (dead letters on the Redis dead-letter stream), an empty document (a dead letter and
// a failure record that `result` reports) — and publishes results to the Redis results stream.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { DeadLetterSchema } from '../../schemas/dead-letter.ts';
import { INBOX_QUEUE } from '../../services/adapters/bullmq/inbox.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { cliEntry } from '../helpers/paths.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process.ts';

const exec = promisify(execFile);
const prefix = uniqueName('inbox');
const keys = new Keys(prefix);
const dir = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-inbox-'));
// Without KAFKA_BROKERS in the environment, whatever the shell running the tests has set.
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
let worker: WorkerProcess;
let redis: Redis;

before(async () => {
  redis = new Redis(redisUrl);
  worker = await spawnWorker({
    name: `${prefix}-w`,
    brokers: [],
    prefix,
    topicPrefix: prefix,
    groupId: prefix,
    args: ['--chunk-tokens', '64'],
    env: { ...env, KAFKA_BROKERS: undefined },
  });
});

after(async () => {
  await worker?.stop();
  await clearPrefix(prefix);
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]) {
  return exec(process.execPath, [cliEntry, ...args], { env, timeout: 120_000 });
}

async function submit(file: string, id: string, extra: string[] = []): Promise<string> {
  const { stdout } = await cli([
    'submit',
    '--redis',
    redisUrl,
    '--prefix',
    prefix,
    '--task',
    'summarize',
    '--max-tokens',
    '4',
    '--file',
    file,
    '--id',
    id,
    ...extra,
  ]);
  return stdout.trim();
}

async function resultOf(id: string): Promise<Record<string, unknown>> {
  const { stdout } = await cli(['result', id, '--redis', redisUrl, '--prefix', prefix, '--wait', '90']).catch(
    (err: { stdout?: string; stderr?: string; code?: number }) => {
      throw new Error(`result ${id} exited ${err.code}: ${err.stderr ?? ''}${err.stdout ?? ''}`);
    },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function streamEntries(stream: string): Promise<Record<string, string>[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) =>
    Object.fromEntries(fields.flatMap((_, i) => (i % 2 === 0 ? [[fields[i]!, fields[i + 1]!]] : []))),
  );
}

test('submit --redis: a small document, a large one in parts and a resubmission are read by a worker without Kafka', async () => {
  const small = path.join(dir, 'small.txt');
  writeFileSync(small, 'The river rose overnight and the town moved its market uphill.\n'.repeat(3));
  const large = path.join(dir, 'large.txt');
  writeFileSync(
    large,
    'Ledger entry: the grain arrived late, the price held, and the mill ran two shifts. ƒ€\n'.repeat(60),
  );
  assert.equal(await submit(small, 'doc-small'), 'doc-small');
  assert.equal(await submit(large, 'doc-large', ['--part-bytes', '1024']), 'doc-large');
  // The same document again: the document store's deduplication makes it one document, one result.
  assert.equal(await submit(small, 'doc-small'), 'doc-small');

  const smallResult = await resultOf('doc-small');
  assert.equal(smallResult.id, 'doc-small');
  assert.equal(smallResult.kind, 'document');
  assert.equal(smallResult.task, 'summarize');
  const largeResult = await resultOf('doc-large');
  assert.equal(largeResult.task, 'summarize');
  assert.ok((largeResult.tokens as number) > 64 * 10, 'the large document was read whole, in several chunks');

  const published = await streamEntries(keys.resultStream());
  const smallOnes = published.filter((e) => e.key === 'doc-small');
  assert.ok(smallOnes.length >= 1, 'the result was published on the Redis results stream');
  assert.deepEqual(
    new Set(smallOnes.map((e) => (JSON.parse(e.json!) as { summary: { text: string } }).summary.text)).size,
    1,
    'one summary for a document sent twice',
  );
  assert.ok(published.some((e) => e.key === 'doc-large'));

  // The inbox's backlog is a metric, as consumer lag is with Kafka: every submission was taken in (a taken-in
  // record's job is removed, so nothing waits and nothing failed).
  const metrics = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  for (const state of ['waiting', 'active', 'failed']) {
    assert.match(metrics, new RegExp(`^rwkvstream_queue_jobs\\{queue="inbox",state="${state}"\\} 0$`, 'm'));
  }
});

test('refused records go to the Redis dead-letter stream with their bytes; an empty document also gets a failure record', async () => {
  // Written straight to the inbox, as a hostile or broken producer would.
  const queue = new Queue(INBOX_QUEUE, { connection: redis, prefix });
  await queue.add('documents', { topic: 'documents', key: 'doc-junk', value: '{not json' });
  await queue.add('documents', {
    topic: 'documents',
    key: 'doc-bad',
    value: JSON.stringify({ schema: 'rwkvstream.document.v1', id: 'doc-bad', body: { kind: 'text', text: 'x' } }),
  });
  await queue.add('documents', { topic: 'documents', value: 42 });
  const empty = {
    schema: 'rwkvstream.document.v1',
    id: 'doc-empty',
    task: { kind: 'summarize' },
    body: { kind: 'text', text: '  \n ' },
  };
  await queue.add('documents', { topic: 'documents', key: 'doc-empty', value: JSON.stringify(empty) });
  await queue.close();

  const failure = await cli(['result', 'doc-empty', '--redis', redisUrl, '--prefix', prefix, '--wait', '60']).then(
    () => assert.fail('result of a refused document must not succeed'),
    (err: { stderr: string; code: number }) => err,
  );
  assert.equal(failure.code, 4);
  assert.match(failure.stderr, /E_EMPTY_DOCUMENT: document doc-empty .*at ingest/);

  let letters: Record<string, string>[] = [];
  for (let i = 0; i < 100 && letters.length < 4; i++) {
    letters = await streamEntries(keys.deadLetterStream());
    await new Promise((r) => setTimeout(r, 100));
  }
  const codes = letters.map((l) => l.code).sort();
  assert.deepEqual(codes, ['E_EMPTY_DOCUMENT', 'E_JSON', 'E_NO_VALUE', 'E_SCHEMA']);
  for (const l of letters) {
    const letter = DeadLetterSchema.parse(JSON.parse(l.json!));
    assert.equal(letter.stage, 'ingest');
    assert.equal(letter.source?.topic, `${INBOX_QUEUE}.documents`);
  }
  const junk = DeadLetterSchema.parse(JSON.parse(letters.find((l) => l.code === 'E_JSON')!.json!));
  assert.equal(
    Buffer.from(junk.original!.base64, 'base64').toString(),
    '{not json',
    'the dead letter carries the bytes to replay',
  );
});
