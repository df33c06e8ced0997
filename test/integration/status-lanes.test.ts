// `status` of a document whose plan job is running, in either planning lane: a document by reference is planned
// in the fetch lane, any other in the ingest lane; both read as queued (planning), naming the worker on it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { Keys } from '../../services/adapters/redis/keys.ts';
import { readDocumentStatus } from '../../services/status/read-status.ts';
import type { Lane } from '../../services/adapters/bullmq/job-queue.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('status-lanes');
const redis = new Redis(redisUrl);
const keys = new Keys(prefix);
after(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

for (const lane of ['ingest', 'fetch'] as const satisfies readonly Lane[]) {
  test(`a document being planned in the ${lane} lane is queued (planning), with the worker that took it`, async () => {
    const id = `doc-${lane}`;
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(lane, { connection, prefix });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = new Worker(
      lane,
      async () => {
        started();
        await held;
      },
      { connection: workerConnection, prefix, name: `planner-${lane}` },
    );
    try {
      assert.equal((await readDocumentStatus(redis, keys, id)).state, 'unknown');
      await queue.add('plan', {}, { jobId: `plan~${id}~docs~0~7` });
      await running;
      const status = await readDocumentStatus(redis, keys, id);
      assert.ok(status.state === 'queued', `state ${status.state}`);
      assert.equal(status.step, 'planning');
      assert.equal(status.worker, `planner-${lane}`);
    } finally {
      release();
      await worker.close();
      await queue.close();
      await connection.quit();
      await workerConnection.quit();
    }
  });
}
