// The pipeline on secured services, set up as a managed deployment would be: Kafka reached only over SASL_SSL
// (SCRAM-SHA-512, the project's own CA) from infra/kafka/start-secure.sh, and a TLS-only Redis whose default
// user is off from infra/redis/start-secure.sh. A worker process, submit, result, status and doctor are
// configured by the environment alone (passwords from a variable or a file), a document goes end to end, and
// every byte any of them printed is searched for the passwords. Wrong credentials give one clear error (CLI)
// or one log line per attempt and exit 5 (worker).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { DocumentResultSchema } from '../../schemas/results.ts';
import { createKafka } from '../../services/adapters/kafka/client.ts';
import { ensureTopics } from '../../services/adapters/kafka/topics.ts';
import { silentLogger } from '../../services/log.ts';
import type { RedisClient } from '../../services/adapters/redis/access.ts';
import { openRedis } from '../../services/adapters/redis/connection.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { securedServices } from './helpers/secured.ts';
import { TopicCollector, topicsFor, uniqueName } from './helpers/services.ts';

const exec = promisify(execFile);
const prefix = uniqueName('secured');
const topics = topicsFor(prefix);
const collector = new TopicCollector();
/** The environment of every command: the services' settings as start-secure.sh printed them. */
let env: Record<string, string> = {};
let secrets: string[] = [];
/** Everything any command or worker printed, searched for the secrets at the end. */
const outputs: string[] = [];
let redis: RedisClient | null = null;
const children = new Set<ReturnType<typeof spawn>>();
let dir = '';

async function cli(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliEntry, ...args], {
      env: { ...process.env, ...env, ...extra },
      maxBuffer: 64 << 20,
    });
    outputs.push(stdout, stderr);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    outputs.push(e.stdout ?? '', e.stderr ?? '');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Worker {
  ready: Promise<void>;
  exited: Promise<number | null>;
  lines: string[];
  pid: number;
  stop(): Promise<number | null>;
}

/** `rwkvstream worker` with this environment; every line it prints (stdout and stderr) is kept. */
function startWorker(extra: Record<string, string>, args: string[] = []): Worker {
  const child = spawn(
    process.execPath,
    [
      cliEntry,
      'worker',
      '--model',
      tinyModel,
      '--prefix',
      prefix,
      '--topic-prefix',
      prefix,
      '--group-id',
      prefix,
      '--metrics-port',
      '0',
      '--threads',
      '1',
      '--log-format',
      'json',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, ...extra } },
  );
  children.add(child);
  const lines: string[] = [];
  let ready!: () => void;
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      outputs.push(line);
      if (line.includes('"worker ready"')) ready();
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const readyOrExit = Promise.race([
    readyP,
    exited.then((code) => Promise.reject(new Error(`worker exited with ${code}: ${lines.slice(-5).join('\n')}`))),
  ]);
  // Awaited only by the tests that expect the worker to start.
  readyOrExit.catch(() => {});
  return {
    ready: readyOrExit,
    exited,
    lines,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

before(
  async () => {
    const services = await securedServices();
    env = services.env;
    secrets = [...services.secrets];
    // The URLs as start-secure.sh printed them carry no password; the settings must come through as given.
    assert.ok(!env.REDIS_URL!.includes(secrets[1]!));
    const kafka = createKafka(services.kafka, 'rwkvstream-test', silentLogger());
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topics, 2);
    await admin.disconnect();
    await collector.start(services.kafka.brokers, [topics.results, topics.deadLetter], kafka);
    redis = await openRedis(services.redis, 'rwkvstream-test');
    dir = path.join(process.env.TMPDIR ?? '/tmp', prefix);
    await exec('mkdir', ['-p', dir]);
  },
  { timeout: 240_000 },
);

after(
  async () => {
    for (const child of children) child.kill('SIGKILL');
    await collector.stop();
    if (redis) {
      let cursor = '0';
      do {
        const [next, keys] = await (redis as import('ioredis').Redis).scan(
          cursor,
          'MATCH',
          `${prefix}:*`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    }
    if (dir) await exec('rm', ['-rf', dir]);
  },
  { timeout: 60_000 },
);

test('a document goes end to end through SASL_SSL Kafka and a TLS/ACL Redis, configured by the environment only', {
  timeout: 240_000,
}, async () => {
  const worker = startWorker({});
  await worker.ready;
  // What `ps` shows of the worker: no password.
  const cmdline = readFileSync(`/proc/${worker.pid}/cmdline`, 'utf8');
  for (const secret of secrets) assert.ok(!cmdline.includes(secret), 'no secret on the command line');

  const text = Array.from(
    { length: 40 },
    (_, i) => `${i}. The lock keeper opens the gate at dawn and logs each barge (${(i * 7) % 31}).\n`,
  ).join('');
  const file = path.join(dir, 'doc.txt');
  writeFileSync(file, text);
  const submitted = await cli([
    'submit',
    '--topic-prefix',
    prefix,
    '--task',
    'summarize',
    '--file',
    file,
    '--id',
    'secured-doc',
    '--max-tokens',
    '12',
  ]);
  assert.equal(submitted.code, 0, submitted.stderr);
  const result = await cli(['result', 'secured-doc', '--prefix', prefix, '--wait', '120']);
  assert.equal(result.code, 0, result.stderr);
  const parsed = DocumentResultSchema.parse(JSON.parse(result.stdout));
  assert.equal(parsed.tokens, Buffer.byteLength(text));
  const published = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'secured-doc'), 30_000);
  assert.equal(
    published.find((r) => r.key === 'secured-doc')!.value,
    result.stdout.trim(),
    'the topic carries what `result` prints',
  );
  const status = await cli(['status', 'secured-doc', '--prefix', prefix]);
  assert.match(status.stdout, /secured-doc: done/);

  const doctor = await cli(['doctor', '--model', tinyModel, '--threads', '1']);
  assert.match(doctor.stdout, /ok\s+redis\s+rediss:\/\/127\.0\.0\.1:\d+\/? answers PING/);
  assert.match(doctor.stdout, /ok\s+kafka\s+1 broker/);

  assert.equal(await worker.stop(), 0);
  assert.equal(collector.records.get(topics.deadLetter)?.length ?? 0, 0, 'no dead letter');
});

test('wrong credentials: a command says so once and exits 5; a worker logs one line per attempt and exits 5', {
  timeout: 180_000,
}, async () => {
  const wrong = 'not-the-password-7d1e';
  secrets.push(wrong);

  const redisRefused = await cli(['status', 'x', '--prefix', prefix], {
    REDIS_PASSWORD_FILE: '',
    REDIS_PASSWORD: wrong,
  });
  assert.equal(redisRefused.code, 5);
  assert.equal(redisRefused.stderr.trim().split('\n').length, 1, redisRefused.stderr);
  assert.match(
    redisRefused.stderr,
    /E_REDIS_REFUSED: Redis at rediss:\/\/127\.0\.0\.1:\d+\/? \(environment REDIS_URL\) refused the connection: WRONGPASS/,
  );

  const kafkaRefused = await cli(
    ['submit', '--topic-prefix', prefix, '--task', 'summarize', '--url', 'https://example.com/x'],
    { KAFKA_SASL_PASSWORD: wrong },
  );
  assert.equal(kafkaRefused.code, 5);
  assert.equal(kafkaRefused.stderr.trim().split('\n').length, 1, kafkaRefused.stderr);
  assert.match(
    kafkaRefused.stderr,
    /E_KAFKA_REFUSED: Kafka at 127\.0\.0\.1:\d+ \(environment KAFKA_BROKERS\) refused the connection: SASL SCRAM SHA512 authentication failed/,
  );

  const untrusted = await cli(['status', 'x', '--prefix', prefix], { REDIS_TLS_CA_FILE: '' });
  assert.equal(untrusted.code, 5);
  assert.match(untrusted.stderr, /refused the connection: self[- ]signed certificate/);

  const wrongOnes: Record<string, string>[] = [
    { REDIS_PASSWORD_FILE: '', REDIS_PASSWORD: wrong },
    { KAFKA_SASL_PASSWORD: wrong },
  ];
  for (const extra of wrongOnes) {
    const worker = startWorker(extra, ['--connect-attempts', '3']);
    assert.equal(await worker.exited, 5, worker.lines.join('\n'));
    const retries = worker.lines.filter((l) => l.includes('retrying in'));
    assert.equal(retries.length, 2, `one line per failed attempt before the last:\n${worker.lines.join('\n')}`);
    assert.ok(retries.every((l) => /refused the connection/.test(l)));
    assert.ok(worker.lines.length <= 6, `a few lines, not a flood:\n${worker.lines.join('\n')}`);
    assert.ok(!worker.lines.some((l) => /\bauth\b.*args|"args"/i.test(l)), 'no AUTH arguments');
  }
});

test('a worker on a user that may not run CONFIG, with the password in REDIS_URL, warns without showing it', {
  timeout: 120_000,
}, async () => {
  const user = `${prefix}-limited`;
  const password = `limited-${Date.now().toString(36)}-secret`;
  secrets.push(password);
  await (redis as import('ioredis').Redis).call(
    'ACL',
    'SETUSER',
    user,
    'on',
    `>${password}`,
    '~*',
    '&*',
    '+@all',
    '-config',
  );
  try {
    const url = new URL(env.REDIS_URL!);
    url.username = user;
    url.password = password;
    const worker = startWorker({ REDIS_URL: url.toString(), REDIS_USERNAME: '', REDIS_PASSWORD_FILE: '' });
    await worker.ready;
    assert.ok(
      worker.lines.some((l) => l.includes('could not read maxmemory-policy')),
      worker.lines.join('\n'),
    );
    // Stopped at once after "worker ready": how it exits is not this test's question.
    await worker.stop();
  } finally {
    await (redis as import('ioredis').Redis).call('ACL', 'DELUSER', user);
  }
});

test('a password on the command line is refused, and no output of any run above shows a secret', async () => {
  const flagged = await cli([
    'status',
    'x',
    '--redis',
    env.REDIS_URL!.replace('rediss://', `rediss://rwkvstream:${secrets[1]}@`),
  ]);
  assert.equal(flagged.code, 2);
  assert.match(
    flagged.stderr,
    /flag --redis: redisUrl: a password on the command line is visible to every user of the machine \(ps\); .*REDIS_PASSWORD/,
  );

  const all = outputs.join('\n');
  assert.ok(all.length > 1000, 'the runs printed something');
  for (const secret of secrets) assert.ok(!all.includes(secret), 'a secret appears in some output');
});
