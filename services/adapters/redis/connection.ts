// Redis connections. BullMQ workers need maxRetriesPerRequest: null (their blocking commands must wait out a
// reconnect rather than fail); the stores use the same setting, so a Redis restart pauses work instead of
// failing jobs. A connection's errors are logged once per outage, not once per reconnect attempt, and never
// reach ioredis's own "Unhandled error event" printing.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Log } from '../../../pipelines/ports.ts';
import { UnreachableError, backoffMs, unreachable } from '../../service-errors.ts';
import { createRedis, describeRedis, type RedisAccess, type RedisClient } from './access.ts';

const CONNECT_TIMEOUT_MS = 3000;

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

/** One connection attempt with a short timeout; resolves with the connected client or rejects with the cause. */
async function connectOnce(access: RedisAccess, name: string): Promise<RedisClient> {
  const redis = createRedis(access, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: name,
  });
  // ioredis rejects a failed connect with a bare "Connection is closed"; the cause comes as an 'error' event.
  let cause: unknown;
  redis.on('error', (err) => {
    // A Cluster reports only "Failed to refresh slots cache"; its last node's error (WRONGPASS, TLS) says why.
    cause ??= (err as { lastNodeError?: Error }).lastNodeError ?? err;
  });
  try {
    await redis.connect();
    await redis.ping();
    // Later errors of a command's connection end up in the command's own error.
    redis.removeAllListeners('error');
    redis.on('error', () => {});
    return redis;
  } catch (err) {
    redis.disconnect();
    throw cause ?? err;
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
export async function waitForRedis(access: RedisAccess, attempts: number, log: Log): Promise<void> {
  const where = describeRedis(access);
  for (let attempt = 1; ; attempt++) {
    try {
      const redis = await connectOnce(access, 'rwkvstream-probe');
      redis.disconnect();
      return;
    } catch (err) {
      if (attempt >= attempts) throw new UnreachableError('redis', where, access.origin, err, ` (${attempts} attempts)`);
      const wait = backoffMs(attempt);
      log.warn({ attempt, of: attempts }, `${unreachable('redis', where, access.origin, err)}; retrying in ${wait / 1000} s`);
      await sleep(wait);
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
