// Redis connections. BullMQ workers need maxRetriesPerRequest: null (their blocking commands must wait out a
// reconnect rather than fail); the stores use the same setting, so a Redis restart pauses work instead of
// failing jobs. A connection's errors are logged once per outage, not once per reconnect attempt, and never
// reach ioredis's own "Unhandled error event" printing.
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import type { Log } from '../../pipelines/ports.ts';
import type { ServiceAddress } from '../config/index.ts';
import { UnreachableError, backoffMs, unreachable } from '../service-errors.ts';

const CONNECT_TIMEOUT_MS = 3000;

export function connectRedis(url: string, name: string, log?: Log): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
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
async function connectOnce(url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, {
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
    cause ??= err;
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
export async function openRedis(address: ServiceAddress<string>, name: string): Promise<Redis> {
  try {
    return await connectOnce(address.value, name);
  } catch (err) {
    throw new UnreachableError('redis', address.value, address.origin, err);
  }
}

/**
 * A worker's start: tries up to `attempts` times with a growing wait, one log line per failed attempt, and
 * gives up with an UnreachableError.
 */
export async function waitForRedis(address: ServiceAddress<string>, attempts: number, log: Log): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const redis = await connectOnce(address.value, 'rwkvstream-probe');
      redis.disconnect();
      return;
    } catch (err) {
      if (attempt >= attempts) throw new UnreachableError('redis', address.value, address.origin, err, ` (${attempts} attempts)`);
      const wait = backoffMs(attempt);
      log.warn({ attempt, of: attempts }, `${unreachable('redis', address.value, address.origin, err)}; retrying in ${wait / 1000} s`);
      await sleep(wait);
    }
  }
}

/** Checks that Redis is configured as the pipeline needs; returns the problems found. */
export async function checkRedis(redis: Redis): Promise<string[]> {
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
