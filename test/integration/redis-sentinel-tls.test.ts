// Redis behind Sentinels, all over TLS (infra/redis/start-sentinel.sh): a master that speaks only TLS to the
// ACL user "rwkvstream", and three Sentinels (quorum two) that speak only TLS, ask for their own password and
// watch the master over TLS. A document goes end to end without Kafka (inbox, worker, result, status), with
// every process knowing only the Sentinels, configured by the environment the script printed (rediss://, CA,
// client certificate, user and both password files); no output shows a password, and a wrong Sentinel
// password is refused in one line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { openRedis } from '../../services/adapters/redis/connection.ts';
import {
  documentEndToEnd,
  securedCli,
  startSecuredRedis,
  stopSecuredRedis,
  type SecuredRedis,
} from './helpers/secured-redis.ts';
import { clearPrefix, uniqueName } from './helpers/services.ts';

const exec = promisify(execFile);
const MASTER_PORT = Number(process.env.RWKVSTREAM_TEST_TLS_SENTINEL_MASTER_PORT ?? 6497);
const SENTINEL_PORT = MASTER_PORT + 20000;
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-sentinel-tls-'));
const infraEnv = {
  REDIS_SENTINEL_MASTER_PORT: String(MASTER_PORT),
  REDIS_SENTINEL_PORT: String(SENTINEL_PORT),
  REDIS_SENTINEL_DIR: path.join(dir, 'sentinel'),
};
const prefix = uniqueName('sentinel-tls');
let secured: SecuredRedis | null = null;

before(
  async () => {
    secured = await startSecuredRedis('start-sentinel.sh', infraEnv);
  },
  { timeout: 180_000 },
);

after(
  async () => {
    if (secured) await clearPrefix(prefix, secured.access).catch(() => {});
    await stopSecuredRedis('stop-sentinel.sh', infraEnv).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

test('the infra prints three TLS Sentinels, the master name, password files and TLS files, never a password', async () => {
  const env = secured!.env;
  assert.equal(env.REDIS_SENTINELS, [0, 1, 2].map((i) => `127.0.0.1:${SENTINEL_PORT + i}`).join(','));
  assert.equal(env.REDIS_SENTINEL_NAME, 'rwmain');
  assert.match(env.REDIS_URL!, /^rediss:\/\//);
  assert.equal(secured!.secrets.length, 2, "the master's and the Sentinels' passwords");
  for (const secret of secured!.secrets) assert.ok(!Object.values(env).some((v) => v.includes(secret)));
  assert.equal(secured!.access.sentinels?.length, 3);
  assert.ok(secured!.access.sentinelPassword && secured!.access.tls?.ca);
  // Nothing answers in plain text: the master and the Sentinels speak only TLS.
  for (const port of [MASTER_PORT, SENTINEL_PORT]) {
    const plain = await exec('redis-cli', ['-p', String(port), 'PING'], { timeout: 10_000 }).then(
      (r) => r.stdout,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    assert.ok(!plain.includes('PONG') && !plain.includes('NOAUTH'), `plain text answered on ${port}: ${plain}`);
  }
});

test("a document goes end to end through the Sentinels' TLS master; its keys are on that master", {
  timeout: 240_000,
}, async () => {
  const outputs = await documentEndToEnd(secured!, { prefix, dir, id: 'sentinel-tls-doc' });
  const redis = await openRedis(secured!.access, 'rwkvstream-test');
  try {
    assert.equal(await redis.exists(`${prefix}:{doc:sentinel-tls-doc}:record`), 1);
    // The client the Sentinels handed out is the master on its TLS port.
    const role = (await (redis as import('ioredis').Redis).role()) as unknown[];
    assert.equal(role[0], 'master');
    assert.match(
      String(await redis.config('GET', 'tls-port').then((r) => (r as string[])[1])),
      new RegExp(`^${MASTER_PORT}$`),
    );
  } finally {
    redis.disconnect();
  }
  const all = outputs.join('\n');
  assert.ok(all.length > 200, 'the runs printed something');
  for (const secret of secured!.secrets) assert.ok(!all.includes(secret), 'a password appears in some output');
});

test('a wrong Sentinel password is refused in one line and exits 5', { timeout: 120_000 }, async () => {
  const wrong = 'not-the-sentinel-password';
  const refused = await securedCli(secured!, ['status', 'x', '--prefix', prefix], {
    REDIS_SENTINEL_PASSWORD_FILE: '',
    REDIS_SENTINEL_PASSWORD: wrong,
  });
  assert.equal(refused.code, 5, refused.stderr);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /E_REDIS_REFUSED: Redis at rwmain via Sentinels [^ ]+ \(environment REDIS_URL\) refused the connection: .*WRONGPASS/,
  );
  assert.ok(!refused.stderr.includes(wrong));
});
