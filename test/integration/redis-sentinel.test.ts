// Redis behind a real Sentinel: a Redis from infra/redis/start.sh on a port of its own, one redis-sentinel
// watching it as "rwmain", and a worker process that knows only the Sentinel (REDIS_SENTINELS,
// REDIS_SENTINEL_NAME) reads a document end to end; `status` finds it through the Sentinel too.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { DocumentResultSchema } from '../../schemas/results.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';

const exec = promisify(execFile);
const REDIS_PORT = Number(process.env.RWKVSTREAM_TEST_SENTINEL_REDIS_PORT ?? 6396);
const SENTINEL_PORT = REDIS_PORT + 20000;
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-sentinel-'));
const redisEnv = { ...process.env, REDIS_PORT: String(REDIS_PORT), REDIS_DATA_DIR: path.join(dir, 'redis') };
let sentinel: ChildProcess | null = null;
// The URL gives no host when Sentinels are set (they name the master); it is still where a user or TLS would go.
const env = { REDIS_SENTINELS: `127.0.0.1:${SENTINEL_PORT}`, REDIS_SENTINEL_NAME: 'rwmain' };

before(
  async () => {
    await exec(path.join(repoRoot, 'infra', 'redis', 'start.sh'), [], { env: redisEnv, timeout: 60_000 });
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      `port ${SENTINEL_PORT}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor rwmain 127.0.0.1 ${REDIS_PORT} 1\n`,
    );
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const reply = await exec('redis-cli', [
        '-p',
        String(SENTINEL_PORT),
        'sentinel',
        'get-master-addr-by-name',
        'rwmain',
      ]).then(
        (r) => r.stdout,
        () => '',
      );
      if (reply.includes(String(REDIS_PORT))) return;
      await sleep(100);
    }
    throw new Error('the Sentinel did not report its master');
  },
  { timeout: 90_000 },
);

const deployment = useDeployment('sentinel', {
  redisAccess: {
    url: 'redis://sentinel-master',
    origin: 'test',
    cluster: false,
    sentinels: [{ host: '127.0.0.1', port: SENTINEL_PORT }],
    sentinelName: 'rwmain',
  },
  env,
  setUp: async (d) => {
    await d.spawn('sentinel-worker');
  },
});

after(
  async () => {
    sentinel?.kill('SIGTERM');
    await exec(path.join(repoRoot, 'infra', 'redis', 'stop.sh'), ['--wipe'], { env: redisEnv }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

test('a worker that knows only the Sentinel reads a document end to end; status and result find it there', {
  timeout: 180_000,
}, async () => {
  const file = path.join(deployment.tempDir(), 'doc.txt');
  const text = Array.from(
    { length: 30 },
    (_, i) => `${i}. The night watch rings the bell at each hour and notes the tide (${i * 3}).\n`,
  ).join('');
  writeFileSync(file, text);
  const cli = (...args: string[]) =>
    exec(process.execPath, [cliEntry, ...args], {
      env: { ...process.env, ...env, REDIS_URL: 'redis://sentinel-master' },
    });
  await cli(
    'submit',
    '--kafka',
    deployment.brokers.join(','),
    '--topic-prefix',
    deployment.prefix,
    '--task',
    'summarize',
    '--file',
    file,
    '--id',
    'sentinel-doc',
    '--max-tokens',
    '12',
  );
  const result = DocumentResultSchema.parse(
    JSON.parse((await cli('result', 'sentinel-doc', '--prefix', deployment.prefix, '--wait', '120')).stdout),
  );
  assert.equal(result.tokens, Buffer.byteLength(text));
  const status = (await cli('status', 'sentinel-doc', '--prefix', deployment.prefix)).stdout;
  assert.match(status, /sentinel-doc: done/);
  // The keys are on the Sentinel's master.
  const keys = (
    await exec('redis-cli', ['-p', String(REDIS_PORT), '--scan', '--pattern', `${deployment.prefix}:*`])
  ).stdout
    .trim()
    .split('\n');
  assert.ok(keys.includes(`${deployment.prefix}:{doc:sentinel-doc}:record`), keys.join(' '));
});
