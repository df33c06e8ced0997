// Configuration: defaults, the precedence flags > environment > file > defaults (objects merged key by key),
// and errors that name the bad setting and the flag, variable or file it came from.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { AnomalySettingsSchema, SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../../services/config/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-config-'));
let files = 0;

function configFile(content: unknown, ext = 'json'): string {
  const file = path.join(dir, `rw-${files++}.${ext}`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Loads with only the given environment (the test runner's own variables stay out). */
const load = (options: LoadConfigOptions) => loadConfig({ env: { HOME: '/home/u' }, ...options, cwd: dir });

async function configError(options: LoadConfigOptions): Promise<ConfigError> {
  const err = await load(options).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, 'E_CONFIG');
  return err;
}

test('defaults: cache under ~/.cache (or XDG_CACHE_HOME), 4096-token chunks, standard topics, task defaults', async () => {
  const { config, origin } = await load({});
  assert.equal(config.home, '/home/u/.cache/rwkvstream');
  assert.equal(config.checkpointDir, '/home/u/.cache/rwkvstream/checkpoints');
  assert.equal(config.chunkTokens, 4096);
  assert.equal(config.hfEndpoint, 'https://huggingface.co');
  assert.deepEqual(config.topics, {
    documents: 'rwkvstream.documents',
    events: 'rwkvstream.events',
    results: 'rwkvstream.results',
    deadLetter: 'rwkvstream.dead-letter',
  });
  // The template and stop rules depend on the prompt format, which follows the model: they are filled in per task.
  const {
    kind: _kind,
    promptFormat: _format,
    template: _template,
    stop: _stop,
    ...summary
  } = SummarizeTaskSchema.parse({ kind: 'summarize' });
  assert.deepEqual(config.summary, summary);
  assert.equal(config.promptFormat, undefined);
  assert.deepEqual(config.anomaly, AnomalySettingsSchema.parse({}));
  assert.equal(config.model, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.equal(origin('chunkTokens'), 'default');

  const xdg = await load({ env: { HOME: '/home/u', XDG_CACHE_HOME: '/var/cache' } });
  assert.equal(xdg.config.home, '/var/cache/rwkvstream');
});

test('flags beat the environment, which beats the config file; objects merge key by key', async () => {
  const file = configFile({
    chunkTokens: 100,
    redisUrl: 'redis://file:6379',
    summary: { maxTokens: 50, template: '\n\nTL;DR:' },
    topics: { events: 'logs' },
  });
  const env = {
    HOME: '/home/u',
    RWKVSTREAM_CHUNK_TOKENS: '200',
    REDIS_URL: 'redis://env:6379',
    RWKVSTREAM_TEMPERATURE: '0.7',
    RWKVSTREAM_CONFIG: file,
  };
  const { config, origin, file: used } = await load({ env, flags: { chunkTokens: '300' } });
  assert.equal(used, file);
  assert.equal(config.chunkTokens, 300);
  assert.equal(origin('chunkTokens'), 'flag --chunk-tokens');
  assert.equal(config.redisUrl, 'redis://env:6379');
  assert.equal(origin('redisUrl'), 'environment REDIS_URL');
  assert.deepEqual(
    [config.summary.maxTokens, config.summary.template, config.summary.temperature],
    [50, '\n\nTL;DR:', 0.7],
  );
  assert.equal(origin('summary.maxTokens'), `config file ${file}`);
  assert.equal(origin('summary.temperature'), 'environment RWKVSTREAM_TEMPERATURE');
  assert.deepEqual([config.topics.events, config.topics.documents], ['logs', 'rwkvstream.documents']);

  const fromFile = await load({ env: { HOME: '/home/u' }, flags: { config: file } });
  assert.equal(fromFile.config.chunkTokens, 100);
});

test('the prompt format: the flag over the environment over the config file; a name outside the formats is refused', async () => {
  const file = configFile({ promptFormat: 'raven' });
  const fromFile = await load({ env: { HOME: '/home/u' }, flags: { config: file } });
  assert.equal(fromFile.config.promptFormat, 'raven');
  assert.equal(fromFile.origin('promptFormat'), `config file ${file}`);
  const fromEnv = await load({ env: { HOME: '/home/u', RWKVSTREAM_PROMPT_FORMAT: 'world' }, flags: { config: file } });
  assert.equal(fromEnv.config.promptFormat, 'world');
  const fromFlag = await load({
    env: { HOME: '/home/u', RWKVSTREAM_PROMPT_FORMAT: 'world' },
    flags: { config: file, promptFormat: 'rwkv7-g' },
  });
  assert.equal(fromFlag.config.promptFormat, 'rwkv7-g');
  assert.equal(fromFlag.origin('promptFormat'), 'flag --prompt-format');
  await assert.rejects(
    load({ env: { HOME: '/home/u' }, flags: { promptFormat: 'chatml' } }),
    (err: Error) => /promptFormat/.test(err.message) && /--prompt-format/.test(err.message),
  );
});

test('a bad value hidden by a higher layer is not an error', async () => {
  const file = configFile({ chunkTokens: 'abc' });
  const { config } = await load({ flags: { config: file, chunkTokens: '64' } });
  assert.equal(config.chunkTokens, 64);
});

test('environment lists, booleans and ports are converted; an empty variable counts as unset', async () => {
  const { config } = await load({
    env: {
      HOME: '/home/u',
      KAFKA_BROKERS: ' a:9092, b:9093 ',
      RWKVSTREAM_OFFLINE: 'yes',
      RWKVSTREAM_METRICS_PORT: 'off',
      REDIS_URL: '',
    },
  });
  assert.deepEqual(config.kafkaBrokers, ['a:9092', 'b:9093']);
  assert.equal(config.offline, true);
  assert.equal(config.metricsPort, null);
  assert.equal(config.redisUrl, undefined);
});

test('paths in a config file are relative to the file; model names and "bytes" are kept', async () => {
  const sub = mkdtempSync(path.join(dir, 'sub-'));
  const file = path.join(sub, 'rw.json');
  writeFileSync(file, JSON.stringify({ model: 'models/m.pth', vocab: 'bytes', checkpointDir: 'ckpt' }));
  const { config } = await load({ flags: { config: path.relative(dir, file) } });
  assert.equal(config.model, path.join(sub, 'models/m.pth'));
  assert.equal(config.vocab, 'bytes');
  assert.equal(config.checkpointDir, path.join(sub, 'ckpt'));
  writeFileSync(file, JSON.stringify({ model: 'g1-0.4b', vocab: 'world' }));
  const named = await load({ flags: { config: file } });
  assert.equal(named.config.model, 'g1-0.4b');
  assert.equal(named.config.vocab, 'world');
});

test('a bad flag is named with its value', async () => {
  const err = await configError({ flags: { chunkTokens: 'abc' } });
  assert.equal(err.message, 'flag --chunk-tokens: chunkTokens: expected a positive integer, got "abc"');
  const device = await configError({ flags: { device: 'tpu' } });
  assert.match(device.message, /^flag --device: device: .*"cpu".*, got "tpu"$/);
});

test('a bad environment variable is named with its value', async () => {
  const err = await configError({ env: { HOME: '/home/u', RWKVSTREAM_CHUNK_TOKENS: '-5' } });
  assert.equal(err.message, 'environment RWKVSTREAM_CHUNK_TOKENS: chunkTokens: expected a positive integer, got -5');
  const redis = await configError({ env: { HOME: '/home/u', REDIS_URL: 'http://localhost:6379' } });
  assert.equal(
    redis.message,
    'environment REDIS_URL: redisUrl: expected a redis:// or rediss:// URL, got "http://localhost:6379"',
  );
  const kafka = await configError({ env: { HOME: '/home/u', KAFKA_BROKERS: 'a:9092,b' } });
  assert.equal(kafka.message, 'environment KAFKA_BROKERS: kafkaBrokers.1: expected host:port, got "b"');
  const offline = await configError({ env: { HOME: '/home/u', RWKVSTREAM_OFFLINE: 'maybe' } });
  assert.equal(offline.message, 'environment RWKVSTREAM_OFFLINE: offline: expected true or false, got "maybe"');
});

test('a bad config file value is named with the file, and every bad value is reported at once', async () => {
  const file = configFile({ chunkTokens: 'abc', summary: { maxTokens: 0 }, anomaly: { threshold: -1 } });
  const err = await configError({ flags: { config: file } });
  assert.deepEqual(err.issues.map((i) => `${i.source}|${i.path}`).sort(), [
    `config file ${file}|anomaly.threshold`,
    `config file ${file}|chunkTokens`,
    `config file ${file}|summary.maxTokens`,
  ]);
  assert.ok(
    err.message.includes(`config file ${file}: chunkTokens: expected a positive integer, got "abc"`),
    err.message,
  );
  assert.ok(err.message.includes('got 0') && err.message.includes('got -1'), err.message);
});

test('an unknown key in a config file is named, with the setting it probably meant', async () => {
  const file = configFile({ chunkTokenz: 10, summary: { maxTokenz: 5 } });
  const err = await configError({ flags: { config: file } });
  const byPath = new Map(err.issues.map((i) => [i.path, i]));
  assert.deepEqual([...byPath.keys()].sort(), ['chunkTokenz', 'summary.maxTokenz']);
  assert.match(byPath.get('chunkTokenz')!.message, /did you mean chunkTokens\?/);
  assert.match(byPath.get('summary.maxTokenz')!.message, /did you mean summary\.maxTokens\?/);
  assert.equal(byPath.get('summary.maxTokenz')!.source, `config file ${file}`);
});

test('unreadable, malformed, non-object and YAML config files are refused with the file and the way it was given', async () => {
  const missing = await configError({ flags: { config: 'nope.json' } });
  assert.equal(missing.message, 'config file nope.json: cannot read it: no such file (given by --config)');
  const broken = await configError({ env: { HOME: '/home/u', RWKVSTREAM_CONFIG: configFile('{"chunkTokens": 1,') } });
  assert.match(broken.message, /^config file .*: not valid JSON: .* \(given by RWKVSTREAM_CONFIG\)$/);
  const array = await configError({ flags: { config: configFile([1, 2]) } });
  assert.match(array.message, /expected a JSON object of settings, got an array/);
  const yaml = await configError({ flags: { config: configFile('chunkTokens: 5\n', 'yaml') } });
  assert.match(yaml.message, /YAML is not supported .*write the configuration as JSON/);
});
