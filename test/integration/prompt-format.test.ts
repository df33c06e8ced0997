// A chat-format document in the real Redis document store: the task read back is the task planned, byte for
// byte, so a redelivered document is recognised as the same one (not refused as another under its id), and
// the stored token ids are the prefix and the folded document.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Redis } from 'ioredis';

import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisDocumentStore } from '../../services/adapters/redis/document-store.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { memoryPipeline, runQueued } from '../pipeline/memory-ports.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';

const prefix = uniqueName('prompt');
const redis = new Redis(redisUrl);
let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});
after(async () => {
  await clearPrefix(prefix);
  redis.disconnect();
  engine.dispose();
});

const TEXT = 'Entry 1: the river rose.\n\nEntry 2: it rained for days.\n\n\nEntry 3: the town waited.\n';
const TASK = SummarizeTaskSchema.parse({
  kind: 'summarize',
  promptFormat: 'rwkv7-g',
  system: 'Be brief.',
  maxTokens: 4,
  sections: { every: 32 },
});

test('a redelivered chat-format document is the same document; its tokens are the prefix and the folded text', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 32 });
  p.deps.documents = new RedisDocumentStore(redis, new Keys(prefix), {
    retentionSeconds: 60,
    partTtlSeconds: 60,
    maxDocumentBytes: 1 << 20,
  });
  const value = Buffer.from(
    JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id: 'river', task: TASK, body: { kind: 'text', text: TEXT } }),
  );
  const deliver = (offset: string) =>
    ingestDocumentRecord({ topic: 'docs', partition: 0, offset, key: null, value, timestamp: '0' }, p.deps);

  await deliver('0');
  assert.deepEqual(
    (await runQueued(p, 1)).map(([, outcome]) => outcome),
    ['planned'],
  );
  const planned = (await p.deps.documents.get('river'))!;
  assert.equal(
    JSON.stringify(planned.record.task),
    JSON.stringify(TASK),
    'the task read back from Redis is the one planned',
  );
  const expected = Buffer.from(
    'System: Be brief.\n\nUser: Entry 1: the river rose.\nEntry 2: it rained for days.\nEntry 3: the town waited.',
  );
  assert.equal(planned.record.tokens, expected.length);
  assert.deepEqual([...(await p.deps.documents.readTokens(planned.record, 0, planned.record.tokens))], [...expected]);

  await deliver('1');
  const ran = await runQueued(p);
  assert.deepEqual(
    ran.filter(([id]) => id.startsWith('plan')).map(([, outcome]) => outcome),
    ['duplicate'],
    'recognised, not E_DUPLICATE_ID',
  );
  assert.equal(p.sinks.deadLetters.length, 0);
  const result = DocumentResultSchema.parse(JSON.parse(p.sinks.results.at(-1)!.json));
  assert.equal(result.promptFormat, 'rwkv7-g');
  assert.equal(result.tokens, expected.length);
});
