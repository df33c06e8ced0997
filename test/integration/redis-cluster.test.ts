// The pipeline on a real Redis Cluster of three masters (infra/redis/start-cluster.sh): a `rwkvstream worker`
// process with --redis-cluster takes a document sent in parts and two event streams end to end. Every
// script and multi-key command must stay within one slot (a cross-slot one fails with CROSSSLOT), the BullMQ
// queues live under the hash tag {<prefix>}, and `status` and `result` read the cluster too. Without Kafka,
// `submit --redis-cluster` and a worker without brokers meet on the inbox queue under the same hash tag.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, test } from 'node:test';

import type { Cluster } from 'ioredis';

import { scoreEvents, summarize } from '../../pipelines/tasks/index.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { AnomalyResultSchema, DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';
import { clearPrefix, uniqueName } from './helpers/services.ts';
import { spawnWorker } from './helpers/worker-process.ts';

const exec = promisify(execFile);
const PORT = Number(process.env.RWKVSTREAM_TEST_CLUSTER_PORT ?? 7491);
const clusterUrl = `redis://127.0.0.1:${PORT}`;

// The cluster is up before the deployment's own hook connects to it (hooks run in the order they are registered).
before(
  async () => {
    const { stdout } = await exec(path.join(repoRoot, 'infra', 'redis', 'start-cluster.sh'), [], {
      env: { ...process.env, REDIS_CLUSTER_PORT: String(PORT) },
      timeout: 120_000,
    });
    assert.equal(stdout.trim(), clusterUrl);
  },
  { timeout: 150_000 },
);

const deployment = useDeployment('cluster', {
  // The deployment's own client is an ioredis Cluster, its workers get --redis-cluster, its tear-down clears every master.
  redisAccess: { url: clusterUrl, origin: 'test', cluster: true },
  producer: true,
  workerArgs: ['--chunk-tokens', '256', '--batch-events', '4', '--batch-ms', '300'],
  setUp: async (d) => {
    await d.spawn('cluster-worker');
  },
});
const { prefix, topics, collector } = deployment;
const dir = deployment.tempDir();
const clusterArgs = () => ['--redis', clusterUrl, '--redis-cluster', '--prefix', prefix];

async function cli(...args: string[]): Promise<string> {
  return (await exec(process.execPath, [cliEntry, ...args], { maxBuffer: 64 << 20 })).stdout;
}

test('a document in parts is read end to end on a three-master cluster; status and result read it there', {
  timeout: 180_000,
}, async () => {
  const text = Array.from(
    { length: 80 },
    (_, i) => `${i}. The ferry crosses twice an hour; the harbour master logs each crossing (${(i * 13) % 47}).\n`,
  ).join('');
  const file = path.join(dir, 'doc.txt');
  writeFileSync(file, text);
  await cli(
    'submit',
    '--kafka',
    deployment.brokers.join(','),
    '--topic-prefix',
    prefix,
    '--task',
    'summarize',
    '--file',
    file,
    '--id',
    'cluster-doc',
    '--max-tokens',
    '16',
    '--part-bytes',
    '2048',
  );

  const out = await cli('result', 'cluster-doc', ...clusterArgs(), '--wait', '120');
  const result = DocumentResultSchema.parse(JSON.parse(out));
  assert.equal(result.tokens, Buffer.byteLength(text));
  assert.equal(result.chunks, Math.ceil(Buffer.byteLength(text) / 256));
  const published = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'cluster-doc'), 30_000);
  assert.equal(published.filter((r) => r.key === 'cluster-doc').length, 1, 'published once');

  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  try {
    const state = engine.model.newState();
    await engine.model.forward(engine.tokenizer.encodeSync(text), state, 'none');
    const direct = await summarize(engine, state, SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 16 }));
    assert.equal(
      result.task === 'summarize' && result.summary.text,
      direct.text,
      'the same summary as reading the text in one go',
    );
  } finally {
    engine.dispose();
  }

  const status = JSON.parse(await cli('status', 'cluster-doc', ...clusterArgs(), '--json'));
  assert.equal(status.state, 'done');

  // The queues are under the hash tag of the prefix (one slot), the document's keys under its own.
  const masters = (deployment.redis as Cluster).nodes('master');
  const found = await Promise.all(masters.map((n) => n.keys(`{${prefix}}:chunks:*`)));
  assert.ok(found.flat().length > 0, 'BullMQ keys under {prefix}');
  assert.equal(await deployment.redis.exists(`${prefix}:{doc:cluster-doc}:record`), 1);
  assert.equal(collector.records.get(topics.deadLetter)?.length ?? 0, 0, 'no dead letter');
});

test('event streams are scored on the cluster with their state carried across batches', {
  timeout: 180_000,
}, async () => {
  const streams: Record<string, string[]> = {
    'edge/gateway': Array.from({ length: 7 }, (_, i) => `GET /api/v1/items/${i % 3} 200 ${20 + i}ms`),
    'jobs/cron': Array.from({ length: 5 }, (_, i) => `job nightly-${i} finished in ${3 + i}s`),
  };
  for (const [stream, lines] of Object.entries(streams)) {
    await deployment.producer.send({
      topic: topics.events,
      messages: lines.map((text, i) => ({
        key: stream,
        value: JSON.stringify({ schema: EVENT_SCHEMA_V1, stream, text, id: `${stream}#${i}` }),
      })),
    });
  }
  const total = Object.values(streams).reduce((n, s) => n + s.length, 0);
  const batches = (stream: string) =>
    (collector.records.get(topics.results) ?? [])
      .filter((r) => r.key === stream)
      .map((r) => AnomalyResultSchema.parse(JSON.parse(r.value)));
  await collector.waitFor(
    topics.results,
    () => Object.keys(streams).reduce((n, s) => n + batches(s).flatMap((b) => b.events).length, 0) >= total,
    120_000,
  );

  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  try {
    const sep = engine.tokenizer.encodeSync('\n');
    for (const [stream, lines] of Object.entries(streams)) {
      const events = batches(stream).flatMap((b) => b.events);
      assert.deepEqual(
        events.map((e) => e.id),
        lines.map((_, i) => `${stream}#${i}`),
        `${stream}: every event once, in order`,
      );
      const direct = await scoreEvents(
        engine,
        engine.model.newState(),
        lines.map((l) => engine.tokenizer.encodeSync(l)),
        sep,
        10_000,
      );
      events.forEach((e, i) =>
        assert.ok(
          Math.abs(e.surprise - direct[i]!.surprise) < 1e-3,
          `${stream} event ${i}: ${e.surprise} vs ${direct[i]!.surprise}`,
        ),
      );
    }
  } finally {
    engine.dispose();
  }
  // The stream's kept history is read through the cluster: every batch once, in order (a result published
  // twice is byte-identical, so the published batches are taken once per index), and --last 1 is the latest.
  const published = [...new Map(batches('jobs/cron').map((b) => [b.batch, b])).values()].sort(
    (a, b) => a.batch - b.batch,
  );
  const recent = (await cli('result', 'jobs/cron', '--stream', '--last', '100', ...clusterArgs()))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
  assert.deepEqual(recent, published);
  const latest = JSON.parse(await cli('result', 'jobs/cron', '--stream', '--last', '1', ...clusterArgs()));
  assert.deepEqual(latest, published.at(-1));
});

test('without Kafka: submit puts a document on the inbox under {prefix} and a worker without brokers reads it on the cluster', {
  timeout: 180_000,
}, async () => {
  const inboxPrefix = uniqueName('cluster-inbox');
  const access = { url: clusterUrl, origin: 'test', cluster: true };
  // Neither process may find brokers in the environment of the shell running the tests.
  const { KAFKA_BROKERS: _brokers, ...noKafka } = process.env;
  const worker = await spawnWorker({
    name: `${inboxPrefix}-w`,
    brokers: [],
    prefix: inboxPrefix,
    topicPrefix: inboxPrefix,
    groupId: inboxPrefix,
    redis: clusterUrl,
    args: ['--redis-cluster', '--chunk-tokens', '256'],
    env: { KAFKA_BROKERS: undefined },
  });
  try {
    const text = Array.from(
      { length: 40 },
      (_, i) => `${i}. The lock keeper opens the upper gate at dawn (${(i * 7) % 31}).\n`,
    ).join('');
    const file = path.join(dir, 'inbox-doc.txt');
    writeFileSync(file, text);
    const args = ['--redis', clusterUrl, '--redis-cluster', '--prefix', inboxPrefix];
    const submitted = await exec(
      process.execPath,
      [
        cliEntry,
        'submit',
        ...args,
        '--task',
        'summarize',
        '--file',
        file,
        '--id',
        'cluster-inbox-doc',
        '--max-tokens',
        '8',
        '--part-bytes',
        '1024',
      ],
      { env: noKafka },
    );
    assert.equal(submitted.stdout.trim(), 'cluster-inbox-doc');

    const out = await exec(process.execPath, [cliEntry, 'result', 'cluster-inbox-doc', ...args, '--wait', '120'], {
      env: noKafka,
    });
    const result = DocumentResultSchema.parse(JSON.parse(out.stdout));
    assert.equal(result.tokens, Buffer.byteLength(text), 'every part was taken in from the inbox');
    const status = JSON.parse(
      (await exec(process.execPath, [cliEntry, 'status', 'cluster-inbox-doc', ...args, '--json'], { env: noKafka }))
        .stdout,
    );
    assert.equal(status.state, 'done');

    // The inbox is under the hash tag of the prefix, like the other queues; nothing of it outside the tag.
    const masters = (deployment.redis as Cluster).nodes('master');
    const tagged = await Promise.all(masters.map((n) => n.keys(`{${inboxPrefix}}:inbox:*`)));
    assert.ok(tagged.flat().length > 0, 'inbox keys under {prefix}');
    const untagged = await Promise.all(masters.map((n) => n.keys(`${inboxPrefix}:inbox:*`)));
    assert.deepEqual(untagged.flat(), []);
    // Without Kafka the result is also published on the Redis results stream.
    const published = await deployment.redis.xrange(new Keys(inboxPrefix, { cluster: true }).resultStream(), '-', '+');
    assert.ok(
      published.some(([, fields]) => fields[1] === 'cluster-inbox-doc'),
      'published on the results stream',
    );
  } finally {
    await worker.stop();
    await clearPrefix(inboxPrefix, access);
  }
});
