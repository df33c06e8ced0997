// Where and how to reach Redis: its URL, the ACL user and password, TLS (a rediss:// URL or any TLS file),
// Sentinel or Cluster. Built once from the configuration (secrets read from their variables or files) and
// handed to every connection a command opens, so the worker, doctor, status and result all connect alike.
import type { ConnectionOptions } from 'node:tls';

import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { ConfigError, redisFrom, type LoadedConfig } from '../../config/index.ts';
import { readSecret, readSettingFile } from '../../config/secrets.ts';
import { redactUrl } from '../../redact.ts';

/** A single server (or a Sentinel-managed master) or a Cluster: the stores use either the same way. */
export type RedisClient = Redis | Cluster;

export interface RedisAccess {
  /** The URL as configured; its password (from REDIS_URL) is used, never shown. */
  url: string;
  /** The setting that gave the URL ("environment REDIS_URL"), for messages. */
  origin: string;
  username?: string;
  password?: string;
  /** TLS options beyond rediss:// (CA, client certificate, server name); set: TLS on. */
  tls?: ConnectionOptions;
  sentinels?: { host: string; port: number }[];
  sentinelName?: string;
  sentinelPassword?: string;
  cluster: boolean;
}

function settingError(path: string, source: string, message: string): ConfigError {
  return new ConfigError([{ source, path, message }]);
}

/** A Redis at a URL with nothing more (tests, tools). */
export function plainRedis(url: string, origin = 'worker settings'): RedisAccess {
  return { url, origin, cluster: false };
}

function hostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) };
}

/** The Redis of a distributed command, with its secrets and TLS files read. */
export async function redisAccessFrom(loaded: LoadedConfig): Promise<RedisAccess> {
  const address = redisFrom(loaded);
  const settings = loaded.config.redis;
  const access: RedisAccess = { url: address.value, origin: address.origin, cluster: settings.cluster };
  if (settings.username !== undefined) access.username = settings.username;
  const password = await readSecret(loaded, 'redis.password');
  if (password !== undefined) access.password = password;
  const [ca, cert, key] = await Promise.all(
    ['ca', 'cert', 'key'].map((k) => readSettingFile(loaded, `redis.tls.${k}`)),
  );
  if (ca || cert || key || settings.tls?.serverName) {
    access.tls = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(settings.tls?.serverName ? { servername: settings.tls.serverName } : {}),
    };
  }
  if (settings.sentinels) {
    if (!settings.sentinelName) {
      throw settingError(
        'redis.sentinelName',
        loaded.origin('redis.sentinels'),
        'Sentinels are set but not the master name (redis.sentinelName, REDIS_SENTINEL_NAME)',
      );
    }
    access.sentinels = settings.sentinels.map(hostPort);
    access.sentinelName = settings.sentinelName;
    const sentinelPassword = await readSecret(loaded, 'redis.sentinelPassword');
    if (sentinelPassword !== undefined) access.sentinelPassword = sentinelPassword;
  }
  if (settings.cluster && settings.sentinels) {
    throw settingError(
      'redis.cluster',
      loaded.origin('redis.cluster'),
      'a Redis is either a Cluster or behind Sentinels, not both',
    );
  }
  return access;
}

/** The Redis as messages show it: the URL without its password, and the mode. */
export function describeRedis(access: RedisAccess): string {
  const url = redactUrl(access.url);
  if (access.sentinels)
    return `${access.sentinelName} via Sentinels ${access.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  return access.cluster ? `${url} (cluster)` : url;
}

/** Every secret of this access, for output checks and redaction. */
export function redisSecrets(access: RedisAccess): string[] {
  const fromUrl = (() => {
    try {
      return decodeURIComponent(new URL(access.url).password);
    } catch {
      return '';
    }
  })();
  return [access.password, access.sentinelPassword, fromUrl].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
}

/**
 * A Cluster whose connect() always settles. ioredis drops its "close" listener once the slots are loaded, so a
 * ready check that then fails (CLUSTER INFO on some node says cluster_state:fail, as in the seconds after a
 * cluster forms or its nodes restart) closes the attempt without ever rejecting connect(); with no retry left
 * the client ends holding no socket or timer, and a process awaiting it simply exits with status 0. A "close"
 * while connecting always ends that attempt (a retry is a new connect()), so it rejects this one.
 */
function settlingCluster(cluster: Cluster): Cluster {
  const connect = cluster.connect.bind(cluster);
  cluster.connect = () =>
    new Promise<void>((resolve, reject) => {
      // Before the slots are loaded ioredis rejects a close itself, with its own reason.
      let loaded = false;
      const refreshed = () => {
        loaded = true;
      };
      const closed = () => {
        if (loaded) reject(new Error('the cluster is not ready: CLUSTER INFO failed or reported cluster_state:fail'));
      };
      cluster.once('refresh', refreshed);
      cluster.once('close', closed);
      connect()
        .then(resolve, reject)
        .finally(() => {
          cluster.off('refresh', refreshed);
          cluster.off('close', closed);
        });
    });
  return cluster;
}

/**
 * A client of this Redis with the given connection behaviour. For a Cluster, `options` apply to each node's
 * connection, except `retryStrategy` (the cluster's own), and `lazyConnect`, `enableOfflineQueue` and
 * `enableReadyCheck` (the cluster's CLUSTER INFO check; each node still waits out its own loading).
 */
export function createRedis(access: RedisAccess, options: RedisOptions): RedisClient {
  const url = new URL(access.url);
  const tlsOn = url.protocol === 'rediss:' || access.tls !== undefined;
  const username = access.username ?? (decodeURIComponent(url.username) || undefined);
  const password = access.password ?? (decodeURIComponent(url.password) || undefined);
  const db = Number(url.pathname.slice(1)) || 0;
  const auth: RedisOptions = {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tlsOn ? { tls: { ...access.tls } } : {}),
  };
  if (access.cluster) {
    const { retryStrategy, lazyConnect, enableOfflineQueue, enableReadyCheck, ...perNode } = options;
    return settlingCluster(
      new Cluster([{ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) }], {
        redisOptions: { ...perNode, ...auth },
        ...(lazyConnect !== undefined ? { lazyConnect } : {}),
        ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
        ...(enableReadyCheck !== undefined ? { enableReadyCheck } : {}),
        ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
      }),
    );
  }
  if (access.sentinels) {
    return new Redis({
      ...options,
      ...auth,
      db,
      sentinels: access.sentinels,
      name: access.sentinelName!,
      ...(access.sentinelPassword !== undefined ? { sentinelPassword: access.sentinelPassword } : {}),
      ...(tlsOn ? { enableTLSForSentinelMode: true, sentinelTLS: { ...access.tls } } : {}),
      // The Sentinels are asked again on their own schedule (by default forever): a single try (a command's
      // connection) must give up on them too, or a wrong Sentinel password hangs the command.
      ...(options.retryStrategy ? { sentinelRetryStrategy: options.retryStrategy } : {}),
    });
  }
  return new Redis({
    ...options,
    ...auth,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 6379),
    db,
  });
}
