// The adaptive-threshold, stream-history and fetch settings reach a worker through the one configuration path
// (flag > environment > config file > defaults), as every other worker setting does.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError, loadConfig, pipelineSettings, serviceConfig } from '../../services/config/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-worker-settings-'));
const services = { REDIS_URL: 'redis://h:6379', KAFKA_BROKERS: 'k:9092' };

test('defaults: auto threshold at a 1% alert rate after 100 events, 256 characters of text, 1000 batches kept', async () => {
  const loaded = await loadConfig({ env: { HOME: '/home/u', ...services }, cwd: dir });
  const { anomaly } = pipelineSettings(loaded.config);
  assert.equal(anomaly.threshold, 'auto');
  assert.equal(anomaly.alertRate, 0.01);
  assert.equal(anomaly.warmupEvents, 100);
  assert.equal(anomaly.eventText, 256);
  assert.equal(serviceConfig(loaded).streamHistoryBatches, 1000);
  assert.deepEqual(pipelineSettings(loaded.config).fetch.allow, []);
});

test('file, then environment, then flag, for the stream and fetch settings a worker is built from', async () => {
  const file = path.join(dir, 'w.json');
  writeFileSync(
    file,
    JSON.stringify({
      anomaly: { threshold: 6, warmupEvents: 20 },
      worker: { streamHistoryBatches: 50 },
      fetch: { pool: 2 },
    }),
  );
  const env = {
    HOME: '/home/u',
    ...services,
    RWKVSTREAM_CONFIG: file,
    RWKVSTREAM_ALERT_RATE: '0.05',
    RWKVSTREAM_EVENT_TEXT: '0',
    RWKVSTREAM_STREAM_HISTORY: '70',
    RWKVSTREAM_FETCH_DEADLINE_MS: '5000',
  };
  const fromEnv = await loadConfig({ env, cwd: dir });
  const settings = pipelineSettings(fromEnv.config);
  assert.deepEqual(
    {
      threshold: settings.anomaly.threshold,
      alertRate: settings.anomaly.alertRate,
      warmupEvents: settings.anomaly.warmupEvents,
      eventText: settings.anomaly.eventText,
    },
    { threshold: 6, alertRate: 0.05, warmupEvents: 20, eventText: 0 },
  );
  assert.equal(serviceConfig(fromEnv).streamHistoryBatches, 70);
  assert.equal(settings.fetch.pool, 2);
  assert.equal(settings.fetch.deadlineMs, 5000);

  const fromFlags = await loadConfig({
    env,
    cwd: dir,
    flags: {
      anomalyThreshold: 'auto',
      warmupEvents: '5',
      streamHistory: '9',
      fetchPool: '8',
      fetchAllow: 'docs.example.com',
    },
  });
  const flagged = pipelineSettings(fromFlags.config);
  assert.equal(flagged.anomaly.threshold, 'auto');
  assert.equal(flagged.anomaly.warmupEvents, 5);
  assert.equal(serviceConfig(fromFlags).streamHistoryBatches, 9);
  assert.equal(flagged.fetch.pool, 8);
  assert.deepEqual(flagged.fetch.allow, ['docs.example.com']);
  assert.equal(fromFlags.origin('anomaly.threshold'), 'flag --anomaly-threshold');
});

test('a threshold that is neither "auto" nor a positive number is refused, naming where it came from', async () => {
  const err = await loadConfig({ env: { HOME: '/home/u', RWKVSTREAM_ANOMALY_THRESHOLD: 'high' }, cwd: dir }).catch(
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.match(
    err.message,
    /environment RWKVSTREAM_ANOMALY_THRESHOLD: anomaly\.threshold: expected "auto" or a positive number/,
  );
  const rate = await loadConfig({ env: { HOME: '/home/u' }, cwd: dir, flags: { alertRate: '0.9' } }).catch(
    (e: unknown) => e,
  );
  assert.ok(rate instanceof ConfigError);
  assert.match(rate.message, /flag --alert-rate: anomaly\.alertRate/);
});
