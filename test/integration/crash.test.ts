// Crash test: a worker process is killed with SIGKILL in the middle of a document; another worker takes over
// from the last checkpoint (once the dead worker's job lock expires). The emitted result is identical to an
// uninterrupted run, and the audit trail shows every chunk committed exactly once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';

const exec = promisify(execFile);
// Short locks, so the killed worker's job is taken over within seconds.
const WORKER_ARGS = ['--chunk-tokens', '256', '--lock-ms', '2000', '--stalled-ms', '1000'];
const deployment = useDeployment('crash', { workerArgs: WORKER_ARGS });
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
    'summarize',
    '--max-tokens',
    '32',
    '--file',
    file,
    '--id',
    id,
  ]);
}

async function audit(id: string): Promise<{ chunk: number; version: number; tokens: number; writer: string }[]> {
  return (await redis.lrange(keys.audit({ kind: 'document', id }), 0, -1)).map((e) => JSON.parse(e));
}

test('SIGKILL in the middle of a document: another worker finishes it with the uninterrupted result', {
  timeout: 240_000,
}, async () => {
  const text = Array.from(
    { length: 420 },
    (_, i) => `[${i}] sensor ${i % 7} reports ${(i * 13) % 97} units; the operator notes nothing unusual.\n`,
  ).join('');
  const file = path.join(dir, 'doc.txt');
  writeFileSync(file, text);
  const chunks = Math.ceil(Buffer.byteLength(text) / 256);

  const a = await deployment.spawn('worker-a');
  await submit('crash-doc', file);
  // Wait until a few chunks are committed, then kill the worker without warning.
  const checkpoint = keys.checkpoint({ kind: 'document', id: 'crash-doc' });
  for (let i = 0; ; i++) {
    const chunk = Number((await redis.hget(checkpoint, 'chunk')) ?? 0);
    if (chunk >= 12) break;
    assert.ok(i < 3000, 'worker A made no progress');
    await sleep(10);
  }
  a.kill('SIGKILL');
  await a.exited;
  const reached = Number(await redis.hget(checkpoint, 'chunk'));
  assert.ok(reached < chunks, `killed before the end (${reached} of ${chunks} chunks)`);
  assert.equal(collector.records.get(topics.results)!.length, 0);

  await deployment.spawn('worker-b');
  const results = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'crash-doc'), 120_000);

  // The same content under another id, uninterrupted, on the surviving worker.
  await submit('reference-doc', file);
  await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'reference-doc'), 120_000);
  const crashed = JSON.parse(results.find((r) => r.key === 'crash-doc')!.value);
  const reference = JSON.parse(collector.records.get(topics.results)!.find((r) => r.key === 'reference-doc')!.value);
  assert.deepEqual({ ...crashed, id: null }, { ...reference, id: null }, 'identical result');
  assert.equal(collector.records.get(topics.results)!.filter((r) => r.key === 'crash-doc').length, 1, 'published once');

  const trail = await audit('crash-doc');
  assert.deepEqual(
    trail.map((e) => e.chunk),
    Array.from({ length: chunks }, (_, k) => k + 1),
    'every chunk committed once, in order',
  );
  assert.deepEqual(
    trail.map((e) => e.version),
    trail.map((e) => e.chunk),
  );
  assert.equal(trail.at(-1)!.tokens, Buffer.byteLength(text), 'the state read each token once');
  assert.ok(trail.slice(0, reached).every((e) => e.writer === 'worker-a'));
  assert.ok(trail.slice(reached).every((e) => e.writer === 'worker-b'));
  assert.deepEqual(collector.records.get(topics.deadLetter), []);
});
