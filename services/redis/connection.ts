// Redis connections. BullMQ workers need maxRetriesPerRequest: null (their blocking commands must wait out a
// reconnect rather than fail); the stores use the same setting, so a Redis restart pauses work instead of
// failing jobs.
import { Redis } from 'ioredis';

export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}

/** Checks that Redis is reachable and configured as the pipeline needs; returns the problems found. */
export async function checkRedis(redis: Redis): Promise<string[]> {
  const problems: string[] = [];
  const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
  if (policy[1] && policy[1] !== 'noeviction') {
    problems.push(`maxmemory-policy is ${policy[1]}; queues and checkpoints need noeviction (an evicted key loses work)`);
  }
  return problems;
}
