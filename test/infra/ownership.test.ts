// infra/ scripts own only what they started: an owner record in a per-user state directory beside the pid
// file; another user's server, even from the same data directory, is neither reused nor stopped; a port held
// by anything else is reported with its pid and command line. Redis is started for real; the Kafka checks use
// a stand-in process (they run before any jar is fetched or JVM started). Every run uses its own ports, data
// directories and state directory, never the project's shared broker.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

const exec = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'rwkvstream-ownership-'));
// Another user must be able to work in here.
chmodSync(root, 0o777);
const cleanups: (() => void)[] = [];
after(() => {
  for (const step of cleanups.reverse()) step();
  rmSync(root, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    // Kafka's controller takes the next port too.
    if (port < 65535) return port;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function script(file: string, env: NodeJS.ProcessEnv, asUser?: string, extra: string[] = []): Promise<Run> {
  const full = path.join(repoRoot, 'infra', file);
  const [cmd, args] = asUser
    ? ['setpriv', ['--reuid', asUser, '--regid', 'nogroup', '--clear-groups', full, ...extra]]
    : [full, extra];
  try {
    const { stdout, stderr } = await exec(cmd, args, {
      env: { PATH: process.env.PATH, HOME: root, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

function killLater(pid: number): void {
  cleanups.push(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

function stateDir(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o777 });
  chmodSync(dir, 0o777);
  return dir;
}

test('redis: start records the owner, a second start reuses it, stop stops it and removes the record', {
  timeout: 120_000,
}, async () => {
  const env = {
    REDIS_PORT: String(await freePort()),
    REDIS_DATA_DIR: path.join(root, 'redis-mine'),
    RWKVSTREAM_STATE_DIR: stateDir('state-mine'),
  };
  const first = await script('redis/start.sh', env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), `redis://127.0.0.1:${env.REDIS_PORT}`);
  const pid = Number(readFileSync(path.join(env.REDIS_DATA_DIR, 'redis.pid'), 'utf8'));
  killLater(pid);
  const records = readdirSync(env.RWKVSTREAM_STATE_DIR).filter((f) => f.startsWith('redis-'));
  assert.equal(records.length, 1);
  const record = readFileSync(path.join(env.RWKVSTREAM_STATE_DIR, records[0]!), 'utf8');
  assert.match(record, new RegExp(`^pid=${pid}\ndata_dir=${env.REDIS_DATA_DIR}\nuid=${process.getuid!()}\n`));

  const again = await script('redis/start.sh', env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`already running \\(pid ${pid}\\)`));
  const stopped = await script('redis/stop.sh', env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(!alive(pid));
  assert.deepEqual(
    readdirSync(env.RWKVSTREAM_STATE_DIR).filter((f) => f.startsWith('redis-')),
    [],
  );
});

test("redis: another user's server from the same data directory is neither reused nor stopped", {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const dataDir = path.join(root, 'redis-shared');
  const theirs = await script(
    'redis/start.sh',
    { REDIS_PORT: String(port), REDIS_DATA_DIR: dataDir, RWKVSTREAM_STATE_DIR: stateDir('state-nobody') },
    'nobody',
  );
  assert.equal(theirs.code, 0, theirs.stderr);
  const pid = Number(readFileSync(path.join(dataDir, 'redis.pid'), 'utf8'));
  killLater(pid);

  const env = { REDIS_PORT: String(port), REDIS_DATA_DIR: dataDir, RWKVSTREAM_STATE_DIR: stateDir('state-me') };
  const start = await script('redis/start.sh', env);
  assert.equal(start.code, 1);
  assert.equal(start.stdout, '', 'no URL printed');
  assert.match(
    start.stderr,
    new RegExp(
      `redis-server running from ${dataDir} \\(pid ${pid}\\) was started by nobody, not by you; it is left alone\\. To use it, point REDIS_URL at redis://127\\.0\\.0\\.1:${port}`,
    ),
  );
  const stop = await script('redis/stop.sh', env);
  assert.equal(stop.code, 1);
  assert.ok(alive(pid), 'still running');
  const wipe = await script('redis/stop.sh', env, undefined, ['--wipe']);
  assert.equal(wipe.code, 1);
  assert.ok(alive(pid) && existsSync(path.join(dataDir, '.rwkvstream-redis')), 'neither stopped nor wiped');
});

test('a port held by something else is reported with its pid and command line', { timeout: 60_000 }, async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const redis = await script('redis/start.sh', {
      REDIS_PORT: String(port),
      REDIS_DATA_DIR: path.join(root, 'redis-busy'),
      RWKVSTREAM_STATE_DIR: stateDir('state-busy'),
    });
    assert.equal(redis.code, 1);
    assert.match(
      redis.stderr,
      new RegExp(
        `port ${port} on 127\\.0\\.0\\.1 is in use by pid ${process.pid} \\(.*node.*\\), not a redis-server started from`,
      ),
    );
    assert.match(redis.stderr, /set REDIS_PORT to a free port/);
    const kafka = await script('kafka/start.sh', {
      KAFKA_PORT: String(port),
      KAFKA_DATA_DIR: path.join(root, 'kafka-busy'),
      RWKVSTREAM_STATE_DIR: stateDir('state-busy'),
    });
    assert.equal(kafka.code, 1);
    assert.match(
      kafka.stderr,
      new RegExp(
        `port ${port} on 127\\.0\\.0\\.1 is in use by pid ${process.pid} .*; it is left alone\\. If it is a Kafka broker you may use it \\(KAFKA_BROKERS=127\\.0\\.0\\.1:${port}`,
      ),
    );
  } finally {
    holder.close();
  }
});

/**
 * A stand-in for a broker started from `dataDir` by the scripts: a process whose command line names
 * kafka.Kafka and the directory's server.properties (what start.sh and stop.sh recognise), listening on
 * the port, with the pid file and the directory's marker. It answers no Kafka request.
 */
async function standInBroker(dataDir: string, port: number, asUser?: string): Promise<ChildProcess> {
  mkdirSync(dataDir, { recursive: true, mode: 0o777 });
  chmodSync(dataDir, 0o777);
  writeFileSync(path.join(dataDir, '.rwkvstream-kafka'), '');
  const props = path.join(dataDir, 'server.properties');
  const code = `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e9);`;
  const argv = [process.execPath, '-e', code, 'kafka.Kafka', props];
  const child = asUser
    ? spawn('setpriv', ['--reuid', asUser, '--regid', 'nogroup', '--clear-groups', ...argv], { stdio: 'ignore' })
    : spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  // setpriv execs the command: the pid is the stand-in's.
  writeFileSync(path.join(dataDir, 'kafka.pid'), `${child.pid}\n`);
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (open) return child;
    await sleep(50);
  }
  throw new Error('the stand-in broker did not listen');
}

test("kafka: a broker this user started with the earlier scripts (no owner record) is still treated as this user's", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const dataDir = path.join(root, 'kafka-legacy');
  await standInBroker(dataDir, port);
  const start = await script('kafka/start.sh', {
    KAFKA_PORT: String(port),
    KAFKA_DATA_DIR: dataDir,
    KAFKA_START_TIMEOUT: '1',
    RWKVSTREAM_STATE_DIR: stateDir('state-legacy'),
  });
  // Recognised and reused (then found not to answer, being a stand-in): neither refused nor restarted.
  assert.match(
    start.stderr,
    /was started by this user from .*kafka-legacy with an earlier version of this script \(no owner record\); treating it as this user's/,
  );
  assert.match(start.stderr, /broker already running/);
});

test("kafka: another user's broker from the same data directory is left alone by start.sh and stop.sh", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const dataDir = path.join(root, 'kafka-theirs');
  const theirs = await standInBroker(dataDir, port, 'nobody');
  const env = {
    KAFKA_PORT: String(port),
    KAFKA_DATA_DIR: dataDir,
    KAFKA_START_TIMEOUT: '1',
    RWKVSTREAM_STATE_DIR: stateDir('state-kafka-me'),
  };
  const start = await script('kafka/start.sh', env);
  assert.equal(start.code, 1);
  assert.equal(start.stdout, '');
  assert.match(
    start.stderr,
    new RegExp(
      `Kafka broker running from ${dataDir} \\(pid ${theirs.pid}\\) was started by nobody, not by you; it is left alone\\. To use it, point KAFKA_BROKERS at 127\\.0\\.0\\.1:${port}`,
    ),
  );
  const stop = await script('kafka/stop.sh', env);
  assert.equal(stop.code, 1);
  assert.ok(alive(theirs.pid!), 'still running');
  const wipe = await script('kafka/stop.sh', env, undefined, ['--wipe']);
  assert.equal(wipe.code, 1);
  const fresh = await script('kafka/start.sh', env, undefined, ['--fresh']);
  assert.equal(fresh.code, 1);
  assert.ok(alive(theirs.pid!), 'still running');
  assert.ok(existsSync(path.join(dataDir, '.rwkvstream-kafka')), 'not wiped');
});
