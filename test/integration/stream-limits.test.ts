// Bounded memory for event streams, against the real Redis: a silent stream's keys (events, offsets, ids,
// state, its blob, audit trail, last result) expire after the idle time; live streams are capped (a new one
// beyond the cap is refused with E_STREAM_LIMIT and admitted again once others fall silent); a stream's waiting
// events are capped (E_STREAM_BACKLOG, refused again on redelivery) and its log is trimmed as it grows.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisEventLog } from '../../services/adapters/redis/event-log.ts';
import { RedisResultStore } from '../../services/adapters/redis/result-store.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('stream-limits');
const redis = new Redis(redisUrl);
const keys = new Keys(prefix);
after(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

let offset = 0;
const event = (text = 'GET / 200') => ({
  text,
  topic: 'events',
  partition: 0,
  offset: String(offset++),
  receivedAt: Date.now(),
});
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (err: { code?: string }) => err.code ?? String(err),
  );

test('every key of a stream expires after its idle time, refreshed by events and commits', async () => {
  const log = new RedisEventLog(redis, keys, { idleTtlSeconds: 600, maxStreams: 100, maxWaitingEvents: 100 });
  const states = new RedisStateStore(redis, keys, 3600, 600);
  const results = new RedisResultStore(redis, keys, 3600, 10, 600);
  const key = { kind: 'stream', id: 'ttl' } as const;
  await log.append('ttl', { ...event(), id: 'e1' });
  await states.commit(key, 0, {
    blob: Buffer.alloc(64, 1),
    chunk: 1,
    tokens: 5,
    cursor: 1,
    result: '{"batch":0}',
    writer: 'w',
  });
  await results.saveStream('ttl', JSON.stringify({ batch: 0 }));
  await log.append('ttl', event());
  const head = (await states.head(key))!;
  const stream = [
    keys.offsets('ttl'),
    keys.events('ttl'),
    keys.eventIds('ttl'),
    keys.checkpoint(key),
    head.ref,
    keys.audit(key),
    keys.result('stream', 'ttl'),
  ];
  for (const k of stream) {
    const ttl = await redis.ttl(k);
    assert.ok(ttl > 590 && ttl <= 600, `${k} expires with the stream (ttl ${ttl})`);
  }
  // A document's checkpoint is not touched by the stream idle time.
  const doc = { kind: 'document', id: 'ttl' } as const;
  await states.commit(doc, 0, { blob: Buffer.alloc(64, 1), chunk: 1, tokens: 5, cursor: 0, result: null, writer: 'w' });
  assert.equal(await redis.ttl(keys.checkpoint(doc)), -1);
});

test('live streams are capped; a refused stream is admitted once others fall silent, whose keys are gone', async () => {
  // A registry of its own (the other tests' streams would count).
  const keys = new Keys(`${prefix}:cap`);
  const log = new RedisEventLog(redis, keys, { idleTtlSeconds: 1, maxStreams: 3, maxWaitingEvents: 100 });
  for (const s of ['cap-a', 'cap-b', 'cap-c']) assert.equal((await log.append(s, event())).appended, true);
  assert.equal(await codeOf(log.append('cap-d', event())), 'E_STREAM_LIMIT');
  assert.equal((await log.append('cap-a', event())).appended, true, 'a live stream goes on');
  assert.equal(await redis.exists(keys.events('cap-d')), 0, 'the refused stream took no memory');
  await sleep(2100);
  assert.equal(await redis.exists(keys.events('cap-b')), 0, 'a silent stream expired');
  assert.equal((await log.append('cap-d', event())).appended, true, 'admitted: the silent streams left the registry');
  assert.deepEqual(await redis.zrange(keys.streams(), 0, -1), ['cap-d']);
});

test('waiting events per stream are capped and the log is trimmed; the refused record is refused again on redelivery', async () => {
  const log = new RedisEventLog(redis, keys, { idleTtlSeconds: 600, maxStreams: 100, maxWaitingEvents: 5 });
  for (let i = 0; i < 5; i++) assert.equal((await log.append('backlog', event())).appended, true);
  const refused = event();
  assert.equal(await codeOf(log.append('backlog', refused)), 'E_STREAM_BACKLOG');
  assert.equal(await codeOf(log.append('backlog', refused)), 'E_STREAM_BACKLOG', 'not taken for a duplicate');
  assert.equal(await redis.xlen(keys.events('backlog')), 5);
  // Drained through seq 3 (the checkpoint's cursor): two wait, three more fit.
  await redis.hset(keys.checkpoint({ kind: 'stream', id: 'backlog' }), 'cursor', 3);
  await log.trim('backlog', 3);
  for (let i = 0; i < 3; i++) assert.equal((await log.append('backlog', event())).appended, true);
  assert.equal(await codeOf(log.append('backlog', event())), 'E_STREAM_BACKLOG');
  assert.ok((await redis.xlen(keys.events('backlog'))) <= 5);
});
