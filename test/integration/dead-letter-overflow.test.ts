// A dead letter too large for the dead-letter topic (the broker refuses it) is kept in Redis with the reason,
// and a reference goes to the topic instead: publishing does not fail, so the consumer goes on.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { deadLetter } from '../../pipelines/dead-letters.ts';
import { DeadLetterSchema } from '../../schemas/dead-letter.ts';
import { KafkaDeadLetterSink } from '../../services/adapters/kafka/sinks.ts';
import { redisDeadLetterOverflow } from '../../services/adapters/redis/dead-letter-store.ts';
import { useDeployment } from './helpers/deployment.ts';

const deployment = useDeployment('dl-overflow', { producer: true });

test('a dead letter too large to publish is stored by reference, with the reason', { timeout: 120_000 }, async () => {
  const { producer, topics, collector, redis, keys } = deployment;
  // The worker's own overflow: the same store the Redis dead-letter stream uses without Kafka.
  const sink = new KafkaDeadLetterSink(producer, topics.deadLetter, redisDeadLetterOverflow(redis, keys, 3600));
  const huge = Buffer.alloc(12 * 1024 * 1024, 0x61).toString('base64');
  await sink.publish(
    deadLetter('ingest', 'E_OVERSIZED', 'too big', { originalBase64: huge, subject: { kind: 'document', id: 'huge' } }),
  );
  await sink.publish(deadLetter('ingest', 'E_JSON', 'not JSON', { subject: { kind: 'document', id: 'small' } }));

  const records = await collector.waitFor(topics.deadLetter, (rs) => rs.length >= 2);
  const letters = records.map((r) => DeadLetterSchema.parse(JSON.parse(r.value)));
  const reference = letters.find((l) => l.subject?.id === 'huge')!;
  assert.equal(reference.code, 'E_OVERSIZED');
  assert.equal(reference.original, undefined, 'the reference carries no original');
  assert.ok(reference.stored, 'stored by reference');
  assert.match(reference.stored.reason, /more than the dead-letter topic accepts/);
  const kept = await redis.hgetall(reference.stored.redisKey);
  const ttl = await redis.ttl(reference.stored.redisKey);
  assert.ok(ttl > 0 && ttl <= 3600, `the stored letter expires (ttl ${ttl})`);
  assert.equal(kept.reason, reference.stored.reason);
  const whole = DeadLetterSchema.parse(JSON.parse(kept.letter!));
  assert.equal(whole.original!.base64, huge, 'the whole letter is in Redis');
  assert.ok(
    letters.some((l) => l.subject?.id === 'small' && l.code === 'E_JSON'),
    'the next letter went out as usual',
  );
});
