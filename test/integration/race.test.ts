// Race test: two worker processes on one document, each chunk job doubled the moment it is enqueued (as when
// a job's lock expires while it still runs and the job is handed out again). Both workers run the same chunk
// at the same time; the fenced commit lets exactly one apply it, and the result is the uninterrupted one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { Queue } from 'bullmq';

import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';

const exec = promisify(execFile);
// Chunks long enough (2048 tokens) that the duplicate is picked up while the original still runs.
const deployment = useDeployment('race', { workerArgs: ['--chunk-tokens', '2048'] });
const { prefix, topics, keys, collector, redis } = deployment;
const dir = deployment.tempDir();

async function submit(id: string, file: string): Promise<void> {
  await exec(process.execPath, [
    cliEntry,
    'submit',
    '--kafka',
    deployment.brokers.join(','),
    '--topic-prefix',
    prefix,
    '--task',
    'classify',
    '--labels',
    'sensors,cooking,music',
    '--file',
    file,
    '--id',
    id,
  ]);
}

test('two workers racing on every chunk of one document: the fencing lets one commit per chunk', {
  timeout: 240_000,
}, async () => {
  const text = Array.from(
    { length: 200 },
    (_, i) => `[${i}] pump ${i % 5} pressure ${(i * 29) % 83} kPa, valve ${i % 3} open.\n`,
  ).join('');
  const file = path.join(dir, 'doc.txt');
  writeFileSync(file, text);
  await deployment.spawn('worker-a');
  await deployment.spawn('worker-b');
  const chunks = Math.ceil(Buffer.byteLength(text) / 2048);

  const queue = new Queue('chunks', { connection: redis, prefix });
  await submit('race-doc', file);
  for (let k = 0; k < chunks; k++) {
    const id = `chunk~race-doc~${k}`;
    for (let i = 0; !(await redis.exists(`${prefix}:chunks:${id}`)); i++) {
      assert.ok(i < 20_000, `chunk ${k} never enqueued`);
      await sleep(2);
    }
    await queue.add('chunk', { kind: 'chunk', doc: 'race-doc', chunk: k }, { jobId: `dup~race-doc~${k}`, attempts: 3 });
  }
  await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'race-doc'), 120_000);

  const outcomes: string[][] = [];
  for (let k = 0; k < chunks; k++) {
    const pair = await Promise.all(
      [`chunk~race-doc~${k}`, `dup~race-doc~${k}`].map(async (id) => {
        const job = await queue.getJob(id);
        for (let i = 0; job && !job.finishedOn && i < 500; i++) {
          await sleep(20);
          Object.assign(job, await queue.getJob(id));
        }
        return String(job?.returnvalue);
      }),
    );
    outcomes.push(pair);
    assert.equal(
      pair.filter((o) => o === 'applied').length,
      1,
      `chunk ${k}: exactly one run applied it (${pair.join(', ')})`,
    );
    assert.ok(
      pair.every((o) => ['applied', 'superseded', 'already-applied', 'skipped'].includes(o)),
      pair.join(', '),
    );
  }
  const raced = outcomes.filter((p) => p.includes('superseded')).length;
  assert.ok(raced > 0, `some chunk ran on both workers at once (outcomes: ${JSON.stringify(outcomes)})`);

  const trail = (await redis.lrange(keys.audit({ kind: 'document', id: 'race-doc' }), 0, -1)).map((e) => JSON.parse(e));
  assert.deepEqual(
    trail.map((e: { chunk: number }) => e.chunk),
    Array.from({ length: chunks }, (_, k) => k + 1),
    'one commit per chunk',
  );
  assert.equal(trail.at(-1).tokens, Buffer.byteLength(text));

  // Without duplicates, the same content gives the same result.
  await submit('calm-doc', file);
  await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'calm-doc'), 120_000);
  const byKey = new Map(collector.records.get(topics.results)!.map((r) => [r.key, JSON.parse(r.value)]));
  assert.deepEqual({ ...byKey.get('race-doc'), id: null }, { ...byKey.get('calm-doc'), id: null });
  assert.equal(collector.records.get(topics.results)!.filter((r) => r.key === 'race-doc').length, 1);
  await queue.close();
});
