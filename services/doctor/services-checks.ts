// Checks of the services the distributed mode runs on: Redis (reachable, and configured so that queued
// chunks and checkpoints are never evicted and survive a restart) and Kafka (a broker answers). Short
// timeouts and no retries: doctor reports, it does not wait for a service to come up.
import { Kafka, logLevel } from 'kafkajs';

import type { CheckResult } from '../../schemas/doctor.ts';
import { kafkaConnection, type KafkaAccess } from '../adapters/kafka/security.ts';
import { createRedis, describeRedis, type RedisAccess, type RedisClient } from '../adapters/redis/access.ts';
import { KAFKA_FIX, REDIS_FIX, isRefusal, reason } from '../service-errors.ts';

const CONNECT_TIMEOUT_MS = 2000;
const KAFKA_DEADLINE_MS = 6000;

async function configValue(redis: RedisClient, key: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', key)) as string[];
  return reply[1];
}

export async function checkRedis(access: RedisAccess): Promise<CheckResult[]> {
  const where = describeRedis(access);
  const redis = createRedis(access, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: 'rwkvstream-doctor',
  });
  // ioredis rejects a failed connect with a bare "Connection is closed"; the cause comes as an 'error' event
  // (and without a listener it would also be printed).
  let cause: unknown;
  redis.on('error', (err) => {
    cause ??= err;
  });
  try {
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      return [
        {
          name: 'redis',
          status: 'fail',
          message: isRefusal(cause ?? err)
            ? `${where} refused the connection: ${reason(cause ?? err)}`
            : `no answer from ${where}: ${reason(cause ?? err)}`,
          fix: isRefusal(cause ?? err)
            ? 'check the Redis user, password (REDIS_PASSWORD or REDIS_PASSWORD_FILE) and TLS CA against the server'
            : REDIS_FIX,
        },
      ];
    }
    const info = await redis.info('server').catch(() => '');
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    const results: CheckResult[] = [
      { name: 'redis', status: 'ok', message: `${where} answers PING${version ? ` (Redis ${version})` : ''}` },
    ];
    let policy: string | undefined;
    let appendonly: string | undefined;
    try {
      policy = await configValue(redis, 'maxmemory-policy');
      appendonly = await configValue(redis, 'appendonly');
    } catch (err) {
      results.push({
        name: 'redis config',
        status: 'warn',
        message: `CONFIG GET is refused (${reason(err)}), so eviction and persistence cannot be checked`,
        fix: 'make sure the server runs with maxmemory-policy noeviction and appendonly yes',
      });
      return results;
    }
    results.push(
      policy === 'noeviction'
        ? { name: 'redis maxmemory-policy', status: 'ok', message: 'noeviction: keys are never evicted' }
        : {
            name: 'redis maxmemory-policy',
            status: 'warn',
            message: `${policy ?? 'unknown'}: under memory pressure Redis may evict queued chunks and checkpoints (lost work)`,
            fix: 'redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf)',
          },
    );
    results.push(
      appendonly === 'yes'
        ? { name: 'redis appendonly', status: 'ok', message: 'yes: writes survive a restart' }
        : {
            name: 'redis appendonly',
            status: 'warn',
            message: `${appendonly ?? 'unknown'}: a restart loses checkpoints and queued chunks written since the last snapshot`,
            fix: 'redis-cli CONFIG SET appendonly yes (and set it in redis.conf)',
          },
    );
    return results;
  } finally {
    redis.disconnect();
  }
}

function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export async function checkKafka(access: KafkaAccess): Promise<CheckResult> {
  const brokers = access.brokers;
  const kafka = new Kafka({
    clientId: 'rwkvstream-doctor',
    ...kafkaConnection(access),
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await deadline(admin.connect(), KAFKA_DEADLINE_MS, 'connecting');
    const cluster = await deadline(admin.describeCluster(), KAFKA_DEADLINE_MS, 'describeCluster');
    const hosts = cluster.brokers.map((b) => `${b.host}:${b.port}`).join(', ');
    return {
      name: 'kafka',
      status: 'ok',
      message: `${cluster.brokers.length} broker${cluster.brokers.length === 1 ? '' : 's'} (${hosts}), controller ${cluster.controller}, cluster ${cluster.clusterId}`,
    };
  } catch (err) {
    return {
      name: 'kafka',
      status: 'fail',
      message: isRefusal(err)
        ? `${brokers.join(',')} refused the connection: ${reason(err)}`
        : `no answer from ${brokers.join(',')}: ${reason(err)}`,
      fix: isRefusal(err)
        ? "check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, the SASL password and the TLS CA against the broker's listener"
        : KAFKA_FIX,
    };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
