// Regression: a checkpoint commit whose reply is lost when Redis restarts is sent again by the client (ioredis
// resends unanswered commands after it reconnects). The second run of the same write must report the commit it
// made; refused as stale, the writer would unlink the blob the checkpoint now points to and not enqueue the
// successor, leaving the document stuck. The fault suite's redis-restart scenario restarts Redis under commits.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Redis } from 'ioredis';

import { Keys } from '../../services/adapters/redis/keys.ts';
import { COMMIT } from '../../services/adapters/redis/lua.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('resent');
const redis = new Redis(redisUrl);
const keys = new Keys(prefix);
after(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

function commitArgs(expected: number, chunk: number, writer: string): (string | number)[] {
  return [expected, chunk, chunk * 10, 0, 100, '', writer, Date.now(), 1000];
}

test('the same commit sent twice is applied once and reported as applied both times', async () => {
  const key = { kind: 'document', id: 'resent' } as const;
  const store = new RedisStateStore(redis, keys);
  assert.deepEqual(
    await store.commit(key, 0, {
      blob: Buffer.alloc(100, 1),
      chunk: 1,
      tokens: 10,
      cursor: 0,
      result: null,
      writer: 'w',
    }),
    { ok: true, version: 1 },
  );

  const blobKey = keys.blob(key, 2, 'nonce2');
  await redis.set(blobKey, Buffer.alloc(100, 2), 'PX', 60_000);
  const run = () => COMMIT.run(redis, [keys.checkpoint(key), blobKey, keys.audit(key)], commitArgs(1, 2, 'w'));
  assert.deepEqual(await run(), [1, 2]);
  assert.deepEqual(await run(), [1, 2], 'the resent write reports the commit it made');

  const head = await store.head(key);
  assert.equal(head?.version, 2);
  assert.equal(head?.ref, blobKey);
  assert.equal((await redis.getBuffer(blobKey))?.[0], 2, 'the committed blob is still there');
  assert.equal(await redis.pttl(blobKey), -1, 'and permanent');
  assert.deepEqual(
    (await store.audit(key)).map((a) => a.chunk),
    [1, 2],
    'one audit entry per chunk',
  );

  // Another writer that started from version 1 is still refused.
  const other = keys.blob(key, 2, 'other');
  await redis.set(other, Buffer.alloc(100, 3), 'PX', 60_000);
  assert.deepEqual(
    await COMMIT.run(redis, [keys.checkpoint(key), other, keys.audit(key)], commitArgs(1, 2, 'x')),
    [0, 2],
  );
});
