// The Redis adapters against a real Redis: fenced checkpoint commits, part assembly, segmented token
// storage, the event log's redelivery check, and create-once documents and results.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Redis } from 'ioredis';

import { DocumentRecordSchema } from '../../schemas/records.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisDocumentStore } from '../../services/adapters/redis/document-store.ts';
import { RedisEventLog } from '../../services/adapters/redis/event-log.ts';
import { RedisResultStore } from '../../services/adapters/redis/result-store.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('stores');
const redis = new Redis(redisUrl);
const keys = new Keys(prefix);
after(async () => {
  await clearPrefix(prefix);
  await redis.quit();
});

const write = (n: number, extra: Partial<{ cursor: number; result: string | null; writer: string }> = {}) => ({
  blob: Buffer.alloc(1000, n),
  chunk: n,
  tokens: n * 10,
  cursor: extra.cursor ?? 0,
  result: extra.result ?? null,
  writer: extra.writer ?? 'w',
});

test('checkpoint commits are fenced: a stale or duplicate writer changes nothing and leaves no blob behind', async () => {
  const store = new RedisStateStore(redis, keys);
  const key = { kind: 'document', id: 'fenced' } as const;
  assert.equal(await store.head(key), null);
  assert.deepEqual(await store.commit(key, 0, write(1)), { ok: true, version: 1 });
  const v1 = (await store.head(key))!;
  assert.deepEqual(
    { version: v1.version, chunk: v1.chunk, tokens: v1.tokens, bytes: v1.bytes },
    { version: 1, chunk: 1, tokens: 10, bytes: 1000 },
  );

  // Two writers both started from version 1: the first wins, the second is refused.
  assert.deepEqual(await store.commit(key, 1, write(2, { writer: 'a' })), { ok: true, version: 2 });
  assert.deepEqual(await store.commit(key, 1, write(2, { writer: 'b' })), { ok: false, current: 2 });
  // A writer from long ago is refused too.
  assert.deepEqual(await store.commit(key, 0, write(1)), { ok: false, current: 2 });

  const head = (await store.head(key))!;
  assert.deepEqual(await store.blob(key, head), Buffer.alloc(1000, 2));
  assert.equal(await store.blob(key, v1), null, 'the superseded blob was unlinked');
  const blobs = await redis.keys(`${prefix}:{doc:fenced}:blob:*`);
  assert.deepEqual(blobs, [head.ref], 'only the current blob exists');
  assert.deepEqual(
    (await store.audit(key)).map((a) => [a.chunk, a.version, a.writer]),
    [
      [1, 1, 'w'],
      [2, 2, 'a'],
    ],
  );

  await store.drop(key);
  assert.equal(await store.head(key), null);
  assert.deepEqual(await redis.keys(`${prefix}:{doc:fenced}:*`), [keys.audit(key)], 'only the audit trail is left');
  assert.ok((await redis.ttl(keys.audit(key))) > 0, 'and it expires');
});

test('the outbox of a commit stays unpublished until marked, and only for its own version', async () => {
  const store = new RedisStateStore(redis, keys);
  const key = { kind: 'stream', id: 'outbox' } as const;
  await store.commit(key, 0, write(1, { cursor: 5, result: '{"batch":0}' }));
  let head = (await store.head(key))!;
  assert.equal(head.result, '{"batch":0}');
  assert.equal(head.published, false);
  assert.equal(head.cursor, 5);
  await store.markPublished(key, 0);
  assert.equal((await store.head(key))!.published, false, 'another version does not clear it');
  await store.markPublished(key, 1);
  head = (await store.head(key))!;
  assert.equal(head.published, true);
});

const docs = () =>
  new RedisDocumentStore(redis, keys, { retentionSeconds: 60, partTtlSeconds: 60, maxDocumentBytes: 100 });
const task = SummarizeTaskSchema.parse({ kind: 'summarize', template: 't', maxTokens: 1 });

test('parts assemble in order whatever order they arrive in; conflicts and oversize are refused', async () => {
  const store = docs();
  assert.deepEqual(await store.putPart('p', 2, true, Buffer.from('C'), task), { status: 'pending' });
  assert.deepEqual(await store.putPart('p', 0, false, Buffer.from('A'), null), { status: 'pending' });
  assert.equal((await store.putPart('p', 3, false, Buffer.from('D'), null)).status, 'rejected');
  const done = await store.putPart('p', 1, false, Buffer.from('B'), null);
  assert.equal(done.status, 'complete');
  assert.ok(done.status === 'complete' && done.count === 3 && done.task.kind === 'summarize');
  const bytes: Buffer[] = [];
  for await (const b of store.readParts('p', 3)) bytes.push(b);
  assert.equal(Buffer.concat(bytes).toString(), 'ABC');
  await store.dropParts('p', 3);
  await assert.rejects(
    async () => {
      for await (const _ of store.readParts('p', 3)) void _;
    },
    { code: 'E_PART_MISSING' },
  );

  const big = await store.putPart('q', 0, false, Buffer.alloc(60), null);
  assert.equal(big.status, 'pending');
  const over = await store.putPart('q', 1, true, Buffer.alloc(60), task);
  assert.deepEqual(over.status === 'rejected' && over.code, 'E_TOO_LARGE');
});

test('token ids are stored in segments and read back across segment boundaries; documents are created once', async () => {
  const store = docs();
  const writer = store.openTokenWriter('t', 1024);
  const ids = Int32Array.from({ length: 5000 }, (_, i) => (i * 7919) % 65530);
  await writer.append(ids.subarray(0, 1500));
  await writer.append(ids.subarray(1500));
  assert.equal(writer.layout().segments, 5);
  const record = DocumentRecordSchema.parse({
    id: 't',
    task,
    bytes: 5000,
    sha256: '0'.repeat(64),
    tokens: 5000,
    chunkTokens: 700,
    chunks: 8,
    layout: writer.layout(),
    tokenizer: { kind: 'bytes', fingerprint: 'x' },
  });
  assert.deepEqual(await store.create(record), { created: true });
  const again = await store.create({ ...record, bytes: 1 });
  assert.ok(!again.created && again.existing.record.bytes === 5000 && again.existing.status === 'running');
  assert.deepEqual(await store.readTokens(record, 1000, 3100), ids.subarray(1000, 3100));
  assert.deepEqual(await store.readTokens(record, 4900, 5000), ids.subarray(4900));
  assert.equal(await redis.ttl(keys.tokens('t', record.layout.nonce, 0)), -1, 'created: token keys no longer expire');

  await store.complete(record, 'done');
  assert.equal((await store.get('t'))!.status, 'done');
  await assert.rejects(store.readTokens(record, 0, 10), { code: 'E_TOKENS_MISSING' });
  assert.ok((await redis.ttl(keys.record('t'))) > 0, 'a finished record expires');
});

test('the event log takes each record in once and counts what waits after the checkpoint', async () => {
  const log = new RedisEventLog(redis, keys);
  const states = new RedisStateStore(redis, keys);
  const ev = (offset: string, text: string) => ({
    text,
    topic: 'ev',
    partition: 1,
    offset,
    receivedAt: 1000 + Number(offset),
  });
  assert.deepEqual(await log.append('s', ev('10', 'a')), { appended: true, pending: 1, batch: 0 });
  assert.deepEqual(await log.append('s', ev('11', 'b')), { appended: true, pending: 2, batch: 0 });
  assert.deepEqual(await log.append('s', ev('10', 'a')), { appended: false, pending: 2, batch: 0 });
  assert.deepEqual(await log.append('s', { ...ev('10', 'c'), partition: 0 }), { appended: true, pending: 3, batch: 0 });
  assert.deepEqual(
    (await log.read('s', 0, 10)).map((e) => [e.seq, e.text]),
    [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ],
  );
  assert.deepEqual(await log.backlog('s', 1), { count: 2, oldestAt: 1011 });

  await states.commit({ kind: 'stream', id: 's' }, 0, write(1, { cursor: 2 }));
  await log.trim('s', 2);
  assert.deepEqual(
    (await log.read('s', 0, 10)).map((e) => e.seq),
    [3],
  );
  assert.deepEqual(await log.append('s', ev('12', 'd')), { appended: true, pending: 2, batch: 1 });
});

test('a document result is kept once; a failure is shown only until a result exists', async () => {
  const results = new RedisResultStore(redis, keys, 60);
  assert.deepEqual(await results.saveDocument('r', '{"a":1}'), { json: '{"a":1}', published: false });
  assert.deepEqual(await results.saveDocument('r', '{"a":2}'), { json: '{"a":1}', published: false });
  await results.markDocumentPublished('r');
  assert.deepEqual(await results.getDocument('r'), { json: '{"a":1}', published: true });
  await results.saveFailure('r', '{"failed":true}');
  assert.equal(await results.get('document', 'r'), '{"a":1}');
  await results.saveFailure('f', '{"failed":true}');
  assert.equal(await results.get('document', 'f'), '{"failed":true}');
  assert.deepEqual(
    await results.saveDocument('f', '{"b":1}'),
    { json: '{"b":1}', published: false },
    'a failure does not block a later result',
  );
  assert.equal(await results.get('document', 'f'), '{"b":1}');
  await results.saveStream('s', '{"batch":3}');
  assert.equal(await results.get('stream', 's'), '{"batch":3}');
});
