// SIGTERM while the worker's Redis does not answer: the worker still exits within 10 s, saying why the shutdown
// was cut short, instead of waiting on the queue's connections forever.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { useDeployment } from './helpers/deployment.ts';
import { OwnRedis } from './helpers/own-redis.ts';
import { spawnWorker } from './helpers/worker-process.ts';

const deployment = useDeployment('shutdown');

test('SIGTERM with Redis unreachable exits within 10 s with a clear message', { timeout: 120_000 }, async () => {
  const redis = await OwnRedis.start();
  try {
    const worker = await spawnWorker({
      name: 'shutdown-worker',
      brokers: deployment.brokers,
      prefix: deployment.prefix,
      topicPrefix: deployment.prefix,
      groupId: deployment.groupId,
      redis: redis.url,
    });
    await redis.stop();
    const started = Date.now();
    worker.kill('SIGTERM');
    const code = await worker.exited;
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 10, `exited after ${seconds} s`);
    assert.equal(code, 0);
    assert.ok(
      worker.logs.some((e) =>
        String(e.msg).startsWith('shutdown did not finish in time (Redis or Kafka not answering)'),
      ),
      JSON.stringify(worker.logs.slice(-5)),
    );
  } finally {
    await redis.stop();
  }
});
