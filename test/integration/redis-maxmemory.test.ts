// A Redis at its maxmemory (noeviction: writes are refused with "OOM"), a server of the test's own: a document
// whose checkpoint can no longer be written fails with E_REDIS_OOM, a failure record and a dead letter (its
// state and tokens freed first, so the record fits), instead of staying "running"; once memory is available
// again, the same id submitted again is read from the start and gets its result.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { DeadLetterSchema } from '../../schemas/dead-letter.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema, FailureRecordSchema } from '../../schemas/results.ts';
import { useDeployment } from './helpers/deployment.ts';
import { OwnRedis } from './helpers/own-redis.ts';
import { startTestWorker } from './helpers/worker.ts';

const own = await OwnRedis.start(['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction']);
const deployment = useDeployment('maxmemory', {
  producer: true,
  redisUrl: own.url,
  setUp: async (d) => {
    const worker = await startTestWorker(d, { redisUrl: own.url }, { chunkTokens: 64 });
    d.onTeardown(() => worker.stop());
  },
});
// Registered after the deployment's: the server stops once the deployment has cleaned up on it.
after(() => own.stop());
const { topics, collector, keys, redis } = deployment;

const TEXT = Array.from({ length: 60 }, (_, i) => `Line ${i}: the fox and the dog walk along the river.\n`).join('');
const send = (id: string) =>
  deployment.producer.send({
    topic: topics.documents,
    messages: [
      {
        key: id,
        value: JSON.stringify({
          schema: DOCUMENT_SCHEMA_V1,
          id,
          task: { kind: 'summarize', maxTokens: 8 },
          body: { kind: 'text', text: TEXT },
        }),
      },
    ],
  });

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('at maxmemory a document fails with E_REDIS_OOM and a failure record; resubmitted later, it is read again', {
  timeout: 180_000,
}, async () => {
  await send('full');
  await until('the first commit', async () => (await redis.llen(keys.audit({ kind: 'document', id: 'full' }))) > 0);
  // No room for another state blob from now on.
  const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  await redis.config('SET', 'maxmemory', String(used + 64 * 1024));

  const failureJson = await until('the failure record', () => redis.hget(keys.result('document', 'full'), 'failure'));
  const failure = FailureRecordSchema.parse(JSON.parse(failureJson));
  assert.equal(failure.code, 'E_REDIS_OOM');
  assert.equal(await redis.hget(keys.record('full'), 'status'), 'failed', 'not left running');
  const letters = await collector.waitFor(topics.deadLetter, (rs) => rs.length >= 1);
  assert.equal(DeadLetterSchema.parse(JSON.parse(letters[0]!.value)).code, 'E_REDIS_OOM');

  await redis.config('SET', 'maxmemory', '0');
  await send('full');
  const results = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'full'), 90_000);
  const result = DocumentResultSchema.parse(JSON.parse(results.find((r) => r.key === 'full')!.value));
  assert.equal(result.id, 'full');
  assert.equal(await redis.hget(keys.record('full'), 'status'), 'done');
  assert.equal(await redis.hget(keys.result('document', 'full'), 'failure'), null, 'the old failure record is gone');
  const trail = (await redis.lrange(keys.audit({ kind: 'document', id: 'full' }), 0, -1)).map(
    (e) => JSON.parse(e) as { version: number; chunk: number },
  );
  assert.deepEqual(
    trail.map((e) => e.chunk),
    trail.map((_, i) => i + 1),
    'a new chain, each chunk once',
  );
});
