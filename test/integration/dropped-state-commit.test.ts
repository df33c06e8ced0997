// Regression: a document's state is dropped when it finishes; a writer of its first chunk that was paused past
// its lock (a zombie expecting version 0) must still be refused, not bring the state back. The fault suite's
// zombie scenario found this: the late commit recreated the checkpoint and added a second chunk-1 audit entry.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Redis } from 'ioredis';

import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('dropped');
const redis = new Redis(redisUrl);
const keys = new Keys(prefix);
after(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

const write = (chunk: number, writer: string) => ({
  blob: Buffer.alloc(100, chunk),
  chunk,
  tokens: chunk * 10,
  cursor: 0,
  result: null,
  writer,
});

test('a first-chunk commit that arrives after the state was dropped is refused and leaves nothing behind', async () => {
  const store = new RedisStateStore(redis, keys);
  const key = { kind: 'document', id: 'finished' } as const;
  assert.deepEqual(await store.commit(key, 0, write(1, 'taker')), { ok: true, version: 1 });
  assert.deepEqual(await store.commit(key, 1, write(2, 'taker')), { ok: true, version: 2 });
  await store.drop(key);

  assert.deepEqual(await store.commit(key, 0, write(1, 'zombie')), { ok: false, current: 2 });
  assert.equal(await store.head(key), null, 'the state stays dropped');
  assert.deepEqual(
    await redis.keys(`${prefix}:{doc:finished}:*`),
    [keys.audit(key)],
    'no blob or checkpoint came back',
  );
  assert.deepEqual(
    (await store.audit(key)).map((a) => [a.chunk, a.writer]),
    [
      [1, 'taker'],
      [2, 'taker'],
    ],
  );

  // A document never committed still takes its first commit.
  assert.deepEqual(await store.commit({ kind: 'document', id: 'fresh' }, 0, write(1, 'w')), { ok: true, version: 1 });
});
