// The settings the distributed commands gained: a topic prefix that names the four topics (a topic named
// on its own wins), a worker's settings from flags, variables and a config file alike, repeatable flags,
// and the service settings a worker is built from.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  ConfigError,
  loadConfig,
  pipelineSettings,
  serviceConfig,
  type LoadConfigOptions,
} from '../../services/config/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-settings-'));
const load = (options: LoadConfigOptions) => loadConfig({ env: { HOME: '/home/u' }, ...options, cwd: dir });

test('a topic prefix names every topic; a topic set on its own keeps its name', async () => {
  const { config } = await load({
    env: { HOME: '/home/u', RWKVSTREAM_TOPIC_PREFIX: 'team', RWKVSTREAM_TOPIC_EVENTS: 'logs' },
  });
  assert.deepEqual(config.topics, {
    documents: 'team.documents',
    events: 'logs',
    results: 'team.results',
    deadLetter: 'team.dead-letter',
  });
  const flag = await load({
    flags: { topicPrefix: 'mine' },
    env: { HOME: '/home/u', RWKVSTREAM_TOPIC_PREFIX: 'team' },
  });
  assert.equal(flag.config.topics.documents, 'mine.documents');
});

test("worker settings: flags, variables and the config file, with their defaults; a worker's service config from them", async () => {
  const file = path.join(dir, 'w.json');
  writeFileSync(
    file,
    JSON.stringify({
      redisUrl: 'redis://file:6379',
      kafkaBrokers: ['k1:9092'],
      worker: { lockMs: 5000, batch: { streams: 4 } },
    }),
  );
  const loaded = await load({
    env: {
      HOME: '/home/u',
      RWKVSTREAM_CONFIG: file,
      RWKVSTREAM_ROLES: 'chunks',
      KAFKA_BROKERS: 'k2:9092,k3:9092',
      RWKVSTREAM_PREFIX: 'p1',
    },
    flags: { concurrency: '3', fileRoot: ['/data', '/srv'], name: 'w-1', metricsPort: 'off' },
  });
  const service = serviceConfig(loaded);
  assert.equal(service.redisUrl, 'redis://file:6379');
  assert.deepEqual(service.kafkaBrokers, ['k2:9092', 'k3:9092']);
  assert.equal(service.prefix, 'p1');
  assert.deepEqual(service.roles, ['chunks']);
  assert.equal(service.concurrency, 3);
  assert.equal(service.lockMs, 5000);
  assert.equal(service.stalledIntervalMs, 30_000);
  assert.equal(service.batch.streams, 4);
  assert.equal(service.workerName, 'w-1');
  assert.equal(service.metricsPort, null);
  assert.equal(loaded.origin('kafkaBrokers'), 'environment KAFKA_BROKERS');
  assert.equal(loaded.origin('redisUrl'), `config file ${file}`);
  assert.deepEqual(pipelineSettings(loaded.config).fileRoots, ['/data', '/srv']);
  assert.equal(pipelineSettings(loaded.config).chunkTokens, 4096);
});

test('a bad worker setting names where it came from', async () => {
  const err = await load({ env: { HOME: '/home/u', RWKVSTREAM_ROLES: 'ingest,cook' } }).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /environment RWKVSTREAM_ROLES: worker\.roles\.1/);
  const port = await load({ flags: { metricsPort: '70000' } }).catch((e: unknown) => e);
  assert.ok(port instanceof ConfigError);
  assert.match(port.message, /flag --metrics-port: metricsPort: expected a port number/);
});

test('a worker needs Redis configured and says how; without Kafka brokers it runs on Redis alone', async () => {
  const loaded = await load({});
  assert.throws(() => serviceConfig(loaded), /no Redis configured: give --redis URL or set REDIS_URL/);
  const redisOnly = await load({
    env: { HOME: '/home/u', REDIS_URL: 'redis://h:1', RWKVSTREAM_STREAM_MAX_LENGTH: '500' },
  });
  const service = serviceConfig(redisOnly);
  assert.equal(service.kafkaBrokers, undefined);
  assert.equal(service.streamMaxLength, 500);
  assert.deepEqual(
    serviceConfig(await load({ env: { HOME: '/home/u', REDIS_URL: 'redis://h:1', KAFKA_BROKERS: 'k:9092' } }))
      .kafkaBrokers,
    ['k:9092'],
  );
});
