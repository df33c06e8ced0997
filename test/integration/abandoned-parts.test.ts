// Parts without their final part, against the real broker and Redis: when the parts expire (--part-ttl), the
// document gets a failure record (E_PARTS_EXPIRED) and a dead letter, and no key of it is left behind; a
// document whose parts all arrive in time is read as usual and gets no such record.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DeadLetterSchema } from '../../schemas/dead-letter.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema, FailureRecordSchema } from '../../schemas/results.ts';
import { useDeployment } from './helpers/deployment.ts';
import { startTestWorker } from './helpers/worker.ts';

const PART_TTL = 2;
const deployment = useDeployment('abandoned-parts', {
  producer: true,
  setUp: async (d) => {
    const worker = await startTestWorker(d, { partTtlSeconds: PART_TTL });
    d.onTeardown(() => worker.stop());
  },
});
const { topics, collector, keys } = deployment;

const part = (id: string, index: number, final: boolean, data: string) => ({
  key: id,
  value: JSON.stringify({
    schema: DOCUMENT_SCHEMA_V1,
    id,
    ...(final ? { task: { kind: 'summarize', maxTokens: 8 } } : {}),
    body: { kind: 'part', index, final, data },
  }),
});

test('parts whose final part never comes expire with a failure record and a dead letter', {
  timeout: 120_000,
}, async () => {
  const started = Date.now();
  await deployment.producer.send({
    topic: topics.documents,
    messages: [part('orphan', 0, false, 'The first part of a document '), part('orphan', 1, false, 'and its second, ')],
  });
  await deployment.producer.send({
    topic: topics.documents,
    messages: [part('whole', 0, false, 'A document in two parts '), part('whole', 1, true, 'that both arrive.')],
  });

  const letters = await collector.waitFor(topics.deadLetter, (rs) => rs.length >= 1, 60_000);
  const letter = DeadLetterSchema.parse(JSON.parse(letters[0]!.value));
  assert.equal(letter.code, 'E_PARTS_EXPIRED');
  assert.deepEqual(letter.subject, { kind: 'document', id: 'orphan' });
  assert.match(letter.reason, /within 2 s/);
  assert.ok(Date.now() - started >= PART_TTL * 1000, 'not before the parts expired');
  const failure = FailureRecordSchema.parse(
    JSON.parse((await deployment.redis.hget(keys.result('document', 'orphan'), 'failure'))!),
  );
  assert.equal(failure.code, 'E_PARTS_EXPIRED');
  assert.deepEqual(
    await deployment.redis.keys(`${deployment.prefix}:{doc:orphan}:part*`),
    [],
    'no part is left behind',
  );
  assert.equal(await deployment.redis.zscore(keys.partsPending(), 'orphan'), null, 'no longer watched');

  const results = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'whole'), 60_000);
  DocumentResultSchema.parse(JSON.parse(results.find((r) => r.key === 'whole')!.value));
  assert.equal(await deployment.redis.hget(keys.result('document', 'whole'), 'failure'), null);
  assert.equal(
    (await collector.waitFor(topics.deadLetter, (rs) => rs.length >= 1, 1000)).length,
    1,
    'one dead letter only',
  );
});
