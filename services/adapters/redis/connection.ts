// Redis connections. BullMQ workers need maxRetriesPerRequest: null (their blocking commands must wait out a
// reconnect rather than fail); the stores use the same setting, so a Redis restart pauses work instead of
// failing jobs. A connection's errors are logged once per outage, not once per reconnect attempt, and never
// reach ioredis's own "Unhandled error event" printing.
import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster } from 'ioredis';

import type { Log } from '../../../pipelines/ports.ts';
import { UnreachableError, backoffMs, unreachable } from '../../service-errors.ts';
import { createRedis, describeRedis, type RedisAccess, type RedisClient } from './access.ts';

const CONNECT_TIMEOUT_MS = 3000;
/** The longest one attempt may take, a server still loading its data included. */
const ATTEMPT_DEADLINE_MS = 15_000;
const CLUSTER_SLOTS = 16384;

/** A Cluster that answers but does not serve every slot on every master yet. */
class ClusterNotReadyError extends Error {
  constructor(problems: string[]) {
    super(`the cluster is not ready: ${problems.join('; ')}`);
    this.name = 'ClusterNotReadyError';
  }
}

export function connectRedis(access: RedisAccess, name: string, log?: Log): RedisClient {
  const redis = createRedis(access, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log?.warn({ connection: name, err: err.message }, 'Redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log?.info({ connection: name }, 'Redis connection restored');
  });
  return redis;
}

/**
 * The masters of a Cluster whose CLUSTER INFO is not "cluster_state:ok" with every slot assigned, as
 * "host:port cluster_state:fail, 10923 of 16384 slots assigned". Every master is asked, not one: in the seconds after
 * a cluster forms or its nodes restart, some nodes already serve while others still refuse (CLUSTERDOWN).
 */
async function clusterNotReady(cluster: Cluster): Promise<string[]> {
  const masters = cluster.nodes('master');
  if (masters.length === 0) return ['no master in the slots map'];
  const problems = await Promise.all(
    masters.map(async (node) => {
      const where = `${node.options.host}:${node.options.port}`;
      const info = String(await node.cluster('INFO'));
      const state = /^cluster_state:(\S+)/m.exec(info)?.[1] ?? 'unknown';
      const slots = Number(/^cluster_slots_assigned:(\d+)/m.exec(info)?.[1] ?? 0);
      return state === 'ok' && slots === CLUSTER_SLOTS
        ? null
        : `${where} cluster_state:${state}, ${slots} of ${CLUSTER_SLOTS} slots assigned`;
    }),
  );
  return problems.filter((p): p is string => p !== null);
}

/** One connection attempt with a short timeout; resolves with the connected client or rejects with the cause. */
async function connectOnce(access: RedisAccess, name: string): Promise<RedisClient> {
  const redis = createRedis(access, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: name,
    // A Cluster's own ready check asks one node at random; every master is checked below instead.
    ...(access.cluster ? { enableReadyCheck: false } : {}),
  });
  // ioredis rejects a failed connect with a bare "Connection is closed"; the cause comes as an 'error' event.
  let cause: unknown;
  redis.on('error', (err) => {
    // A Cluster reports only "Failed to refresh slots cache"; its last node's error (WRONGPASS, TLS) says why.
    cause ??= (err as { lastNodeError?: Error }).lastNodeError ?? err;
  });
  // Whatever ioredis does, the attempt ends by this deadline; the timer also keeps the process alive meanwhile.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ATTEMPT_DEADLINE_MS / 1000} s`)), ATTEMPT_DEADLINE_MS);
  });
  const attempt = async () => {
    await redis.connect();
    await redis.ping();
    if (redis instanceof Cluster) {
      const problems = await clusterNotReady(redis);
      if (problems.length > 0) throw new ClusterNotReadyError(problems);
    }
  };
  const running = attempt();
  // Past the deadline the attempt may still fail; the deadline's error is the one reported.
  running.catch(() => {});
  try {
    await Promise.race([running, deadline]);
    // Later errors of a command's connection end up in the command's own error.
    redis.removeAllListeners('error');
    redis.on('error', () => {});
    return redis;
  } catch (err) {
    redis.disconnect();
    // The cluster check's own verdict says more than the error a node reported on the way.
    throw err instanceof ClusterNotReadyError ? err : (cause ?? err);
  } finally {
    clearTimeout(timer);
  }
}

/** A command's connection: one try, and an UnreachableError naming the address and its setting when it fails. */
export async function openRedis(access: RedisAccess, name: string): Promise<RedisClient> {
  try {
    return await connectOnce(access, name);
  } catch (err) {
    throw new UnreachableError('redis', describeRedis(access), access.origin, err);
  }
}

/**
 * A worker's start: tries up to `attempts` times with a growing wait, one log line per failed attempt, and
 * gives up with an UnreachableError.
 */
export async function waitForRedis(
  access: RedisAccess,
  attempts: number,
  log: Log,
  signal?: AbortSignal,
): Promise<void> {
  const where = describeRedis(access);
  for (let attempt = 1; ; attempt++) {
    try {
      const redis = await connectOnce(access, 'rwkvstream-probe');
      redis.disconnect();
      return;
    } catch (err) {
      if (attempt >= attempts)
        throw new UnreachableError('redis', where, access.origin, err, ` (${attempts} attempts)`);
      const wait = backoffMs(attempt);
      log.warn(
        { attempt, of: attempts },
        `${unreachable('redis', where, access.origin, err)}; retrying in ${wait / 1000} s`,
      );
      await sleep(wait, undefined, signal ? { signal } : {});
    }
  }
}

/** Checks that Redis is configured as the pipeline needs; returns the problems found. */
export async function checkRedis(redis: RedisClient): Promise<string[]> {
  let policy: string | undefined;
  try {
    policy = ((await redis.config('GET', 'maxmemory-policy')) as string[])[1];
  } catch (err) {
    // Managed services often refuse CONFIG; their settings must be checked by whoever runs them.
    return [`could not read maxmemory-policy (${(err as Error).message}); queues and checkpoints need noeviction`];
  }
  return policy && policy !== 'noeviction'
    ? [`maxmemory-policy is ${policy}; queues and checkpoints need noeviction (an evicted key loses work)`]
    : [];
}
