// Without Kafka, a dead letter too large for the dead-letter stream is stored by reference, as on the Kafka path
// and by the same code: a record on the inbox queue so large that its letter (original bytes in base64) exceeds
// the dead-letter topic's limit is refused (E_OVERSIZED); the stream carries a reference without the original,
// the whole letter is kept in Redis with the reason and an expiry, a small refusal still goes out whole, and the
// worker goes on to read the next document.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { DeadLetterSchema, type DeadLetter } from '../../schemas/dead-letter.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { INBOX_QUEUE } from '../../services/adapters/bullmq/inbox.ts';
import { DEAD_LETTER_MAX_BYTES } from '../../services/adapters/kafka/topics.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { cliEntry } from '../helpers/paths.ts';
import { clearPrefix, redisUrl, uniqueName } from './helpers/services.ts';
import { spawnWorker, type WorkerProcess } from './helpers/worker-process.ts';

const exec = promisify(execFile);
const prefix = uniqueName('inbox-dl');
const keys = new Keys(prefix);
const dir = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-inbox-dl-'));
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
let worker: WorkerProcess;
let redis: Redis;

before(async () => {
  redis = new Redis(redisUrl);
  worker = await spawnWorker({
    name: `${prefix}-w`,
    brokers: [],
    prefix,
    topicPrefix: prefix,
    groupId: prefix,
    args: ['--chunk-tokens', '64', '--result-ttl', '3600'],
    env: { ...env, KAFKA_BROKERS: undefined },
  });
});

after(async () => {
  await worker?.stop();
  await clearPrefix(prefix);
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

async function letters(): Promise<DeadLetter[]> {
  return (await redis.xrange(keys.deadLetterStream(), '-', '+')).map(([, fields]) =>
    DeadLetterSchema.parse(JSON.parse(fields[fields.indexOf('json') + 1]!)),
  );
}

test('an inbox record whose dead letter exceeds the limit is dead-lettered by reference; the worker goes on', {
  timeout: 180_000,
}, async () => {
  // Base64 makes the letter a third larger than the record: this one's letter is past the limit.
  const huge = `{"schema":"rwkvstream.document.v1","id":"huge","text":"${'x'.repeat(Math.ceil(DEAD_LETTER_MAX_BYTES * 0.8))}"}`;
  const queue = new Queue(INBOX_QUEUE, { connection: redis, prefix });
  try {
    await queue.add('documents', { topic: 'documents', key: 'huge', value: huge });
    await queue.add('documents', { topic: 'documents', key: 'junk', value: '{not json' });
  } finally {
    await queue.close();
  }
  const text = Array.from({ length: 12 }, (_, i) => `${i}. The tide turns twice a day at the harbour wall.\n`).join('');
  const file = path.join(dir, 'after.txt');
  writeFileSync(file, text);
  const args = ['--redis', redisUrl, '--prefix', prefix];
  await exec(
    process.execPath,
    [cliEntry, 'submit', ...args, '--task', 'summarize', '--max-tokens', '4', '--file', file, '--id', 'after'],
    { env },
  );
  const result = DocumentResultSchema.parse(
    JSON.parse((await exec(process.execPath, [cliEntry, 'result', 'after', ...args, '--wait', '120'], { env })).stdout),
  );
  assert.equal(result.tokens, Buffer.byteLength(text), 'the document after the oversized record was read');

  let found: DeadLetter[] = [];
  for (let i = 0; i < 100 && found.length < 2; i++) {
    found = await letters();
    if (found.length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const byKey = (key: string) =>
    found.find((l) => l.source && Buffer.from(l.source.keyBase64 ?? '', 'base64').toString() === key);
  const reference = byKey('huge');
  assert.ok(reference, `a letter for the oversized record: ${found.map((l) => l.code).join(', ')}`);
  assert.equal(reference.code, 'E_OVERSIZED');
  assert.equal(reference.original, undefined, 'the stream entry carries no original');
  assert.ok(reference.stored, 'stored by reference');
  assert.match(
    reference.stored.reason,
    new RegExp(`more than the ${DEAD_LETTER_MAX_BYTES} a dead-letter stream entry may hold`),
  );
  assert.ok(reference.stored.bytes > DEAD_LETTER_MAX_BYTES);
  assert.ok(reference.stored.redisKey.startsWith(`${prefix}:dead-letter:`));
  const kept = await redis.hgetall(reference.stored.redisKey);
  assert.equal(kept.reason, reference.stored.reason);
  const whole = DeadLetterSchema.parse(JSON.parse(kept.letter!));
  assert.equal(
    Buffer.from(whole.original!.base64, 'base64').toString(),
    huge,
    "the whole letter, with the record's bytes, is in Redis",
  );
  assert.equal(Buffer.byteLength(kept.letter!), reference.stored.bytes);
  const ttl = await redis.ttl(reference.stored.redisKey);
  assert.ok(ttl > 0 && ttl <= 3600, `the stored letter expires with the results (ttl ${ttl})`);

  const small = byKey('junk');
  assert.equal(small?.code, 'E_JSON');
  assert.equal(small?.stored, undefined, 'a small letter goes out whole');
  assert.equal(Buffer.from(small!.original!.base64, 'base64').toString(), '{not json');
  assert.ok(worker.running(), 'the worker is still running');
});
