// Secrets and connection files in the configuration: passwords only from the environment or a file, never a
// flag or a config file's text; a URL with a password refused as a flag; files named in a config file are
// relative to it; values never echoed in errors; TLS and SASL settings turned into client options.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { Cluster } from 'ioredis';

import {
  ConfigError,
  FLAG_BINDINGS,
  SETTINGS,
  loadConfig,
  type LoadConfigOptions,
} from '../../services/config/index.ts';
import { kafkaAccessFrom, kafkaConnection } from '../../services/adapters/kafka/security.ts';
import { createRedis, describeRedis, redisAccessFrom } from '../../services/adapters/redis/access.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-secrets-'));
const file = (name: string, content: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, content);
  return at;
};
const load = (options: LoadConfigOptions) => loadConfig({ env: { HOME: '/home/u' }, ...options, cwd: dir });

async function refused(promise: Promise<unknown>): Promise<ConfigError> {
  const err = await promise.then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  return err;
}

test('no secret has a flag, and every secret has a variable and a file setting with one', () => {
  const secrets = SETTINGS.filter((s) => s.secret);
  assert.deepEqual(secrets.map((s) => s.path).sort(), [
    'kafka.sasl.password',
    'redis.password',
    'redis.sentinelPassword',
  ]);
  for (const s of secrets) {
    assert.equal(s.flag, undefined, `${s.path} has no flag`);
    assert.ok(s.env, `${s.path} has a variable`);
    const fromFile = SETTINGS.find((f) => f.path === `${s.path}File`);
    assert.ok(fromFile?.env?.endsWith('_FILE'), `${s.path}File is read from a …_FILE variable`);
  }
  assert.ok(!Object.values(FLAG_BINDINGS).some((b) => /password>/.test(b.flag)), 'no flag takes a password');
});

test('a Redis URL with a password is refused as a flag (pointing at the variables) and taken from REDIS_URL', async () => {
  const err = await refused(load({ flags: { redis: 'redis://u:s3cret-flag@127.0.0.1:6379' } }));
  assert.match(
    err.message,
    /^flag --redis: redisUrl: a password on the command line is visible to every user of the machine \(ps\); .*REDIS_PASSWORD or REDIS_PASSWORD_FILE .*REDIS_URL/,
  );
  assert.ok(!err.message.includes('s3cret-flag'));
  const { config } = await load({ env: { HOME: '/home/u', REDIS_URL: 'redis://u:s3cret-env@127.0.0.1:6379' } });
  assert.equal(config.redisUrl, 'redis://u:s3cret-env@127.0.0.1:6379');
  // A bad URL with a password is quoted without it.
  const bad = await refused(load({ env: { HOME: '/home/u', REDIS_URL: 'http://u:s3cret-env@127.0.0.1:6379' } }));
  assert.ok(!bad.message.includes('s3cret-env'), bad.message);
  assert.match(bad.message, /\*\*\*/);
});

test('a password written into a config file is refused with the file setting to use instead', async () => {
  const config = file(
    'inline.json',
    JSON.stringify({
      redis: { password: 'inline-secret' },
      kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'inline-kafka' } },
    }),
  );
  const err = await refused(load({ flags: { config } }));
  assert.equal(err.issues.length, 2);
  assert.match(
    err.message,
    /redis\.password: a password is not written into a config file; .*redis\.passwordFile, or set REDIS_PASSWORD/,
  );
  assert.match(err.message, /kafka\.sasl\.password: .*kafka\.sasl\.passwordFile, or set KAFKA_SASL_PASSWORD/);
  assert.ok(!err.message.includes('inline-secret') && !err.message.includes('inline-kafka'));
});

test('passwords from variables or files (relative to the config file); both at once refused; unreadable files named', async () => {
  file('redis.pw', 'from-file-secret\n');
  const config = file(
    'files.json',
    JSON.stringify({ redisUrl: 'rediss://127.0.0.1:6380', redis: { username: 'app', passwordFile: 'redis.pw' } }),
  );
  const access = await redisAccessFrom(await load({ flags: { config } }));
  assert.equal(access.password, 'from-file-secret', 'one trailing line break dropped');
  assert.equal(access.username, 'app');
  assert.equal(describeRedis(access), 'rediss://127.0.0.1:6380');

  const env = { HOME: '/home/u', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PASSWORD: 'env-secret' };
  assert.equal((await redisAccessFrom(await load({ env }))).password, 'env-secret');
  const both = await refused(load({ env, flags: { config } }).then(redisAccessFrom));
  assert.match(both.message, /set either redis\.password or redis\.passwordFile, not both/);
  const missing = await refused(
    load({ env: { ...env, REDIS_PASSWORD: '', REDIS_PASSWORD_FILE: path.join(dir, 'nope') } }).then(redisAccessFrom),
  );
  assert.match(missing.message, /^environment REDIS_PASSWORD_FILE: redis\.passwordFile: cannot read .*nope: ENOENT$/);
});

test('Kafka TLS and SASL become kafkajs options; SASL without a password is refused', async () => {
  const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const pw = file('kafka.pw', 'scram-secret');
  const env = {
    HOME: '/home/u',
    KAFKA_BROKERS: 'b1:9093,b2:9093',
    KAFKA_TLS_CA_FILE: ca,
    KAFKA_TLS_SERVER_NAME: 'kafka.internal',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD_FILE: pw,
  };
  const connection = kafkaConnection(await kafkaAccessFrom(await load({ env })));
  assert.deepEqual(connection.brokers, ['b1:9093', 'b2:9093']);
  assert.deepEqual(connection.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: 'scram-secret' });
  const ssl = connection.ssl as { ca: Buffer; servername: string };
  assert.equal(ssl.ca.toString(), readFileSync(ca, 'utf8'));
  assert.equal(ssl.servername, 'kafka.internal');
  assert.equal(
    kafkaConnection(
      await kafkaAccessFrom(await load({ env: { HOME: '/home/u', KAFKA_BROKERS: 'b:1', KAFKA_TLS: 'true' } })),
    ).ssl,
    true,
  );
  assert.equal(
    kafkaConnection(await kafkaAccessFrom(await load({ env: { HOME: '/home/u', KAFKA_BROKERS: 'b:1' } }))).ssl,
    undefined,
  );
  const noPassword = await refused(load({ env: { ...env, KAFKA_SASL_PASSWORD_FILE: '' } }).then(kafkaAccessFrom));
  assert.match(
    noPassword.message,
    /SASL is on but no password is set: set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE/,
  );
  // A config file whose sasl object is wrong as a whole is quoted without the password from the environment.
  const whole = await refused(
    load({
      env: { ...env, KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: 'env-sasl-secret' },
      flags: {
        config: file('sasl.json', JSON.stringify({ kafka: { sasl: { mechanism: 'plain', username: 'u', extra: 1 } } })),
      },
    }),
  );
  assert.match(whole.message, /kafka\.sasl\.extra: unknown setting/);
  assert.ok(!whole.message.includes('env-sasl-secret'));
  const mechanism = await refused(load({ env: { ...env, KAFKA_SASL_MECHANISM: 'gssapi' } }));
  assert.match(
    mechanism.message,
    /kafka\.sasl\.mechanism: expected plain, scram-sha-256 or scram-sha-512, got "gssapi"/,
  );
});

test('Cluster and Sentinel: the client kind, the queue hash tag, and a Sentinel without its master name refused', async () => {
  const clusterEnv = { HOME: '/home/u', REDIS_URL: 'redis://127.0.0.1:7391', REDIS_CLUSTER: 'true' };
  const access = await redisAccessFrom(await load({ env: clusterEnv }));
  assert.equal(access.cluster, true);
  const client = createRedis(access, { lazyConnect: true });
  assert.ok(client instanceof Cluster);
  client.disconnect();
  assert.equal(new Keys('rw', { cluster: true }).queuePrefix, '{rw}');
  assert.equal(new Keys('rw').queuePrefix, 'rw');

  const sentinel = await refused(
    load({ env: { HOME: '/home/u', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_SENTINELS: 's1:26379' } }).then(
      redisAccessFrom,
    ),
  );
  assert.match(sentinel.message, /Sentinels are set but not the master name/);
  const viaSentinel = await redisAccessFrom(
    await load({
      env: {
        HOME: '/home/u',
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_SENTINELS: 's1:26379,[::1]:26380',
        REDIS_SENTINEL_NAME: 'main',
      },
    }),
  );
  assert.deepEqual(viaSentinel.sentinels, [
    { host: 's1', port: 26379 },
    { host: '::1', port: 26380 },
  ]);
  assert.equal(describeRedis(viaSentinel), 'main via Sentinels s1:26379,::1:26380');
});
