// Two worker processes share the load of many documents: both do chunk work, every document's chunks are
// committed once each and in order, and every result is what reading the document directly gives.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { summarize } from '../../pipelines/tasks/index.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';

const exec = promisify(execFile);
const deployment = useDeployment('share', { partitions: 4, workerArgs: ['--chunk-tokens', '512'] });
const { prefix, topics, keys, collector, redis, workers } = deployment;
const dir = deployment.tempDir();

const DOCS = 10;
const textOf = (d: number) =>
  Array.from(
    { length: 30 + 7 * d },
    (_, i) => `Doc ${d}, note ${i}: shipment ${(d * 31 + i * 7) % 50} left the dock at ${(i * 5) % 24}h.\n`,
  ).join('');

test('two worker processes share many documents, each document strictly in order', { timeout: 300_000 }, async () => {
  await Promise.all([deployment.spawn('worker-a'), deployment.spawn('worker-b')]);

  await Promise.all(
    Array.from({ length: DOCS }, async (_, d) => {
      const file = path.join(dir, `doc-${d}.txt`);
      writeFileSync(file, textOf(d));
      await exec(process.execPath, [
        cliEntry,
        'submit',
        '--kafka',
        deployment.brokers.join(','),
        '--topic-prefix',
        prefix,
        '--task',
        'summarize',
        '--max-tokens',
        '16',
        '--file',
        file,
        '--id',
        `doc-${d}`,
      ]);
    }),
  );
  await collector.waitFor(topics.results, (rs) => new Set(rs.map((r) => r.key)).size === DOCS, 240_000);

  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  const writers = new Set<string>();
  for (let d = 0; d < DOCS; d++) {
    const text = textOf(d);
    const trail = (await redis.lrange(keys.audit({ kind: 'document', id: `doc-${d}` }), 0, -1)).map(
      (e) => JSON.parse(e) as { chunk: number; writer: string },
    );
    const chunks = Math.ceil(Buffer.byteLength(text) / 512);
    assert.deepEqual(
      trail.map((e) => e.chunk),
      Array.from({ length: chunks }, (_, k) => k + 1),
      `doc-${d}: chunks in order, once each`,
    );
    for (const e of trail) writers.add(e.writer);

    const published = collector.records.get(topics.results)!.filter((r) => r.key === `doc-${d}`);
    assert.equal(published.length, 1);
    const result = DocumentResultSchema.parse(JSON.parse(published[0]!.value));
    const state = engine.model.newState();
    await engine.model.forward(engine.tokenizer.encodeSync(text), state, 'none');
    const direct = await summarize(engine, state, SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 16 }));
    assert.equal(result.task === 'summarize' && result.summary.text, direct.text, `doc-${d}`);
  }
  engine.dispose();
  assert.deepEqual([...writers].sort(), ['worker-a', 'worker-b'], 'both workers committed chunks');
  assert.deepEqual(collector.records.get(topics.deadLetter), []);

  // Both workers expose their metrics; together they read every token of every document.
  let tokens = 0;
  for (const w of workers) {
    const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
    tokens += Number(/^rwkvstream_tokens_total\{kind="document"\} (\d+)/m.exec(text)?.[1] ?? 0);
    assert.match(text, /^rwkvstream_chunk_seconds_bucket/m);
    assert.match(text, /^rwkvstream_checkpoint_bytes_count\{op="commit"\} \d+/m);
    assert.match(text, /^rwkvstream_queue_jobs\{queue="chunks",state="completed"\} \d+/m);
    assert.match(text, /^rwkvstream_consumer_lag\{topic="[^"]+",partition="\d+"\} 0/m);
    const health = await fetch(`http://127.0.0.1:${w.metricsPort}/healthz`);
    assert.equal(health.status, 200);
  }
  const all = Array.from({ length: DOCS }, (_, d) => Buffer.byteLength(textOf(d))).reduce((a, b) => a + b, 0);
  assert.ok(tokens >= all, `metrics count ${tokens} tokens, the documents have ${all}`);
});
