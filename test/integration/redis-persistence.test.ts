// Against redis-servers of the test's own: a Redis restarted without persistence comes back empty, and the
// fenced commit tells the writer so (a version below the one it started from, E_CHECKPOINT_REGRESSED in the
// pipeline) rather than "superseded"; a worker refuses such a Redis unless --allow-volatile-redis, reading
// CONFIG or, where CONFIG is refused, INFO persistence.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { Redis } from 'ioredis';

import { Keys } from '../../services/adapters/redis/keys.ts';
import { redisPersistence } from '../../services/adapters/redis/persistence.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { OwnRedis } from './helpers/own-redis.ts';
import { kafkaBrokers } from './helpers/services.ts';

const run = promisify(execFile);
const keys = new Keys('t-persistence');
const write = (n: number) => ({
  blob: Buffer.alloc(100, n),
  chunk: n,
  tokens: n * 10,
  cursor: 0,
  result: null,
  writer: 'w',
});

async function withRedis<T>(
  args: string[] | undefined,
  use: (server: OwnRedis, redis: Redis) => Promise<T>,
): Promise<T> {
  const server = await OwnRedis.start(args);
  const redis = new Redis(server.url);
  try {
    return await use(server, redis);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

test('after a restart without persistence a stale commit reports version 0, below the one it started from', async () => {
  await withRedis(undefined, async (server, redis) => {
    const store = new RedisStateStore(redis, keys);
    const key = { kind: 'document', id: 'lost' } as const;
    assert.deepEqual(await store.commit(key, 0, write(1)), { ok: true, version: 1 });
    assert.deepEqual(await store.commit(key, 1, write(2)), { ok: true, version: 2 });
    await server.restart();
    assert.deepEqual(await store.commit(key, 2, write(3)), { ok: false, current: 0 });
    assert.equal(await store.head(key), null, 'nothing was brought back');
  });
});

test('a dropped state still fences every writer with its last version (a late writer is superseded, not regressed)', async () => {
  await withRedis(undefined, async (_server, redis) => {
    const store = new RedisStateStore(redis, keys);
    const key = { kind: 'document', id: 'dropped' } as const;
    await store.commit(key, 0, write(1));
    await store.commit(key, 1, write(2));
    await store.drop(key);
    assert.deepEqual(await store.commit(key, 1, write(2)), { ok: false, current: 2 });
    assert.deepEqual(await store.commit(key, 0, write(1)), { ok: false, current: 2 });
  });
});

test('persistence is read from CONFIG, and from INFO where CONFIG is refused', async () => {
  const cases: [string, string[], boolean][] = [
    ['neither AOF nor RDB', ['--save', '', '--appendonly', 'no'], false],
    ['AOF', ['--save', '', '--appendonly', 'yes'], true],
    ['RDB snapshots', ['--save', '3600 1', '--appendonly', 'no'], true],
    [
      'CONFIG refused, no AOF, no snapshot taken',
      ['--save', '', '--appendonly', 'no', '--rename-command', 'CONFIG', ''],
      false,
    ],
    ['CONFIG refused, AOF', ['--save', '', '--appendonly', 'yes', '--rename-command', 'CONFIG', ''], true],
  ];
  for (const [name, args, durable] of cases) {
    const found = await withRedis(args, (_server, redis) => redisPersistence(redis));
    assert.equal(found.durable, durable, `${name}: ${found.detail}`);
    if (args.includes('--rename-command')) assert.match(found.detail, /INFO persistence/, name);
  }
});

test('a worker refuses a Redis that keeps nothing across a restart, saying how to allow it', async () => {
  const brokers = await kafkaBrokers();
  await withRedis(undefined, async (server) => {
    const out = await run(
      process.execPath,
      [
        cliEntry,
        'worker',
        '--model',
        tinyModel,
        '--redis',
        server.url,
        '--kafka',
        brokers.join(','),
        '--connect-attempts',
        '1',
        '--metrics-port',
        'off',
        '--prefix',
        't-persistence',
      ],
      { timeout: 60_000 },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stderr, /E_REDIS_VOLATILE: Redis keeps nothing across a restart \(appendonly no, save ''\)/);
    assert.match(out.stderr, /--allow-volatile-redis/);
    assert.doesNotMatch(out.stderr, /model loaded|worker ready/);
  });
});
