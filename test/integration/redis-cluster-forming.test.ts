// A Redis Cluster that answers but does not serve yet: a real cluster-mode redis-server that owns only half of
// the 16384 slots, so CLUSTER SLOTS lists it while CLUSTER INFO says cluster_state:fail (as nodes do in the
// seconds after a cluster forms or restarts). A command must fail with the unreachable status and the node's
// state, a worker must retry until the cluster serves and then start, or give up with status 5; none may
// end with status 0 and nothing said.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { EXIT_UNREACHABLE } from '../../services/service-errors.ts';
import { cliEntry } from '../helpers/paths.ts';
import { freePort, OwnRedis } from './helpers/own-redis.ts';
import { uniqueName } from './helpers/services.ts';
import { spawnWorker, type StartingWorker } from './helpers/worker-process.ts';

const exec = promisify(execFile);
const HALF = 8191;

let node: OwnRedis;
let admin: Redis;

/** A cluster-mode node of its own (its bus on a free port too) owning slots 0..8191 only. */
async function halfFormed(): Promise<OwnRedis> {
  const started = await OwnRedis.start([
    // A node that has met no other does not know its own address unless told, and lists its slots as served by "".
    '--cluster-enabled',
    'yes',
    '--cluster-port',
    String(await freePort()),
    '--cluster-announce-ip',
    '127.0.0.1',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    '5000',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const client = new Redis(started.url, { maxRetriesPerRequest: 1 });
  try {
    await client.cluster('ADDSLOTSRANGE', 0, HALF);
  } finally {
    client.disconnect();
  }
  return started;
}

async function clusterState(): Promise<string | undefined> {
  return /^cluster_state:(\S+)/m.exec(String(await admin.cluster('INFO')))?.[1];
}

before(async () => {
  node = await halfFormed();
  admin = new Redis(node.url, { maxRetriesPerRequest: 1 });
  assert.equal(await clusterState(), 'fail', 'half the slots: the node does not serve');
});

after(async () => {
  admin?.disconnect();
  await node?.stop();
});

// Neither process may find brokers in the environment of the shell running the tests.
const { KAFKA_BROKERS: _brokers, ...noKafka } = process.env;

test('status on a cluster that does not serve yet exits with the unreachable status and says which node is not ready', {
  timeout: 60_000,
}, async () => {
  const run = exec(
    process.execPath,
    [
      cliEntry,
      'status',
      'some-doc',
      '--redis',
      node.url,
      '--redis-cluster',
      '--prefix',
      uniqueName('forming'),
      '--json',
    ],
    { env: noKafka },
  );
  const err = await run.then(
    () => assert.fail('status succeeded on a cluster that does not serve'),
    (e: unknown) => e as { code: number; stdout: string; stderr: string },
  );
  assert.equal(err.code, EXIT_UNREACHABLE, err.stderr);
  assert.equal(err.stdout, '');
  assert.match(err.stderr, /E_REDIS_UNREACHABLE/);
  assert.match(
    err.stderr,
    new RegExp(
      `the cluster is not ready: 127\\.0\\.0\\.1:${node.port} cluster_state:fail, ${HALF + 1} of 16384 slots assigned`,
    ),
  );
});

test('a worker gives up on a cluster that never serves with status 5 and the reason, not status 0', {
  timeout: 60_000,
}, async () => {
  const prefix = uniqueName('forming-never');
  let starting: StartingWorker | undefined;
  await assert.rejects(
    spawnWorker({
      name: `${prefix}-w`,
      brokers: [],
      prefix,
      topicPrefix: prefix,
      groupId: prefix,
      redis: node.url,
      args: ['--redis-cluster', '--connect-attempts', '2'],
      env: { KAFKA_BROKERS: undefined },
      onSpawn: (w) => {
        starting = w;
      },
    }),
    new RegExp(`exited with ${EXIT_UNREACHABLE} before it was ready`),
  );
  const lines = starting!.logs.map((l) => String(l.msg));
  assert.ok(
    lines.some((l) => /retrying in 1 s/.test(l) && /the cluster is not ready/.test(l)),
    `a retry after the first attempt: ${JSON.stringify(lines)}`,
  );
  assert.ok(
    lines.some((l) => /^rwkvstream: E_REDIS_UNREACHABLE: .*the cluster is not ready.*\(2 attempts\)/.test(l)),
    `the last word says why: ${JSON.stringify(lines)}`,
  );
});

test('a worker that meets a cluster still forming retries and starts once every slot is served', {
  timeout: 180_000,
}, async () => {
  const prefix = uniqueName('forming-later');
  let starting: StartingWorker | undefined;
  const ready = spawnWorker({
    name: `${prefix}-w`,
    brokers: [],
    prefix,
    topicPrefix: prefix,
    groupId: prefix,
    redis: node.url,
    args: ['--redis-cluster', '--connect-attempts', '8'],
    env: { KAFKA_BROKERS: undefined },
    onSpawn: (w) => {
      starting = w;
    },
  });
  // Kept from rejecting unobserved while the test waits for the first refused attempt.
  ready.catch(() => {});
  // A worker's start (compiling the CLI, loading the engine) takes seconds, more on a busy machine.
  const deadline = Date.now() + 90_000;
  while (!starting?.logs.some((l) => /the cluster is not ready/.test(String(l.msg)))) {
    assert.ok(Date.now() < deadline, `no refused attempt logged: ${JSON.stringify(starting?.logs)}`);
    assert.ok(starting === undefined || starting.running(), `the worker exited: ${JSON.stringify(starting?.logs)}`);
    await sleep(50);
  }
  await admin.cluster('ADDSLOTSRANGE', HALF + 1, 16383);
  const worker = await ready;
  try {
    assert.equal(await clusterState(), 'ok');
    assert.ok(worker.running());
  } finally {
    // What the worker wrote under its prefix goes with the node's directory.
    assert.equal(await worker.stop(), 0, 'a clean stop');
  }
});
