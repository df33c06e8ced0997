// Redis connections. BullMQ workers need maxRetriesPerRequest: null (their blocking commands must wait out a
// reconnect rather than fail); the stores use the same setting, so a Redis restart pauses work instead of
// failing jobs.
import { Redis } from 'ioredis';

export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}

/** Checks that Redis is reachable and configured as the pipeline needs; returns the problems found. */
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
