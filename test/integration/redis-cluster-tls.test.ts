// A Redis Cluster of three masters secured as a managed one (infra/redis/start-cluster-secure.sh): TLS only on
// every node's port and on the cluster bus, a client certificate required, and only the ACL user "rwkvstream".
// A document goes end to end through it without Kafka (inbox, worker, result, status), configured by the
// environment the script printed (rediss://, CA, client certificate, user, password file; REDIS_CLUSTER=true);
// its keys are spread over the masters under their hash tags, no output shows the password, and a client
// without the certificate, or with a wrong password, is refused in one line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import type { Cluster } from 'ioredis';

import { openRedis } from '../../services/adapters/redis/connection.ts';
import {
  documentEndToEnd,
  securedCli,
  startSecuredRedis,
  stopSecuredRedis,
  type SecuredRedis,
} from './helpers/secured-redis.ts';
import { clearPrefix, uniqueName } from './helpers/services.ts';

const PORT = Number(process.env.RWKVSTREAM_TEST_TLS_CLUSTER_PORT ?? 7421);
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-cluster-tls-'));
const infraEnv = { REDIS_CLUSTER_PORT: String(PORT), REDIS_CLUSTER_DIR: path.join(dir, 'cluster') };
const prefix = uniqueName('cluster-tls');
let secured: SecuredRedis | null = null;

before(
  async () => {
    secured = await startSecuredRedis('start-cluster-secure.sh', infraEnv);
  },
  { timeout: 180_000 },
);

after(
  async () => {
    if (secured) await clearPrefix(prefix, secured.access).catch(() => {});
    await stopSecuredRedis('stop-cluster-secure.sh', infraEnv).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

test('the infra prints a rediss:// cluster with a CA, a client certificate and a password file, never a password', () => {
  const env = secured!.env;
  assert.equal(env.REDIS_URL, `rediss://127.0.0.1:${PORT}`);
  assert.equal(env.REDIS_CLUSTER, 'true');
  for (const k of [
    'REDIS_USERNAME',
    'REDIS_PASSWORD_FILE',
    'REDIS_TLS_CA_FILE',
    'REDIS_TLS_CERT_FILE',
    'REDIS_TLS_KEY_FILE',
  ])
    assert.ok(env[k], k);
  assert.equal(secured!.access.cluster, true);
  assert.ok(
    secured!.access.tls?.ca && secured!.access.tls.cert && secured!.access.tls.key,
    'TLS with the CA and the client certificate',
  );
  for (const secret of secured!.secrets) assert.ok(!Object.values(env).some((v) => v.includes(secret)));
});

test('a document goes end to end through the TLS/ACL cluster; its keys live on the masters under their hash tags', {
  timeout: 240_000,
}, async () => {
  const outputs = await documentEndToEnd(secured!, { prefix, dir, id: 'cluster-tls-doc' });
  const redis = (await openRedis(secured!.access, 'rwkvstream-test')) as Cluster;
  try {
    const masters = redis.nodes('master');
    assert.equal(masters.length, 3);
    const found = (await Promise.all(masters.map((n) => n.keys(`*${prefix}*`)))).map((keys) => keys.length);
    assert.ok(found.filter((n) => n > 0).length >= 1, `keys per master: ${found.join(', ')}`);
    assert.equal(await redis.exists(`${prefix}:{doc:cluster-tls-doc}:record`), 1);
    const queues = (await Promise.all(masters.map((n) => n.keys(`{${prefix}}:*`)))).flat();
    assert.ok(queues.length > 0, 'the queues under {prefix}');
  } finally {
    redis.disconnect();
  }
  const all = outputs.join('\n');
  assert.ok(all.length > 200, 'the runs printed something');
  for (const secret of secured!.secrets) assert.ok(!all.includes(secret), 'a password appears in some output');
});

test('without the client certificate, or with a wrong password, a command is refused in one line and exits 5', {
  timeout: 120_000,
}, async () => {
  const noCert = await securedCli(secured!, ['status', 'x', '--prefix', prefix], {
    REDIS_TLS_CERT_FILE: '',
    REDIS_TLS_KEY_FILE: '',
  });
  assert.equal(noCert.code, 5, noCert.stderr);
  assert.equal(noCert.stderr.trim().split('\n').length, 1, noCert.stderr);
  // The server closes the handshake; ioredis reports only "Connection is closed" for the node.
  assert.match(noCert.stderr, /E_REDIS_(REFUSED|UNREACHABLE): .*rediss:\/\/127\.0\.0\.1:\d+ \(cluster\)/);

  const wrong = 'not-the-cluster-password';
  const refused = await securedCli(secured!, ['status', 'x', '--prefix', prefix], {
    REDIS_PASSWORD_FILE: '',
    REDIS_PASSWORD: wrong,
  });
  assert.equal(refused.code, 5, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /refused the connection: WRONGPASS/);
  assert.ok(!refused.stderr.includes(wrong));
});
