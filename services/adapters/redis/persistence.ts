// Whether the Redis a worker stores checkpoints in keeps them across a restart. A Redis with neither AOF nor
// RDB snapshots comes back empty: queued chunks, checkpoints and document records are gone, and the work they
// stood for vanishes with no failure anywhere. A worker refuses such a Redis unless it is told the loss is
// acceptable (tests, throw-away deployments).
import type { RedisClient } from './access.ts';
import type { ErrorCode } from '../../../schemas/error-codes.ts';

export interface Persistence {
  /** AOF is on, or RDB snapshots are configured (or, where CONFIG is refused, have been taken). */
  durable: boolean;
  /** What was found, for the message: "appendonly no, save ''" or "INFO persistence: aof_enabled:0 ...". */
  detail: string;
}

export class VolatileRedisError extends Error {
  readonly code = 'E_REDIS_VOLATILE' satisfies ErrorCode;

  constructor(detail: string) {
    super(
      `Redis keeps nothing across a restart (${detail}): a restart would silently lose queued work and checkpoints; ` +
        'turn on AOF (appendonly yes) or RDB snapshots (save), or pass --allow-volatile-redis ' +
        '(RWKVSTREAM_ALLOW_VOLATILE_REDIS=true) where losing them is acceptable',
    );
    this.name = 'VolatileRedisError';
  }
}

/** CONFIG GET appendonly/save; where CONFIG is refused (managed services), INFO persistence. */
export async function redisPersistence(redis: RedisClient): Promise<Persistence> {
  let appendonly: string | undefined;
  let save: string | undefined;
  try {
    appendonly = ((await redis.config('GET', 'appendonly')) as string[])[1];
    save = ((await redis.config('GET', 'save')) as string[])[1];
  } catch {
    return fromInfo(await redis.info('persistence'));
  }
  const durable = appendonly === 'yes' || (save !== undefined && save.trim() !== '');
  return { durable, detail: `appendonly ${appendonly ?? 'unknown'}, save '${save ?? ''}'` };
}

/**
 * INFO tells whether AOF is on, but not whether snapshots are configured: a snapshot taken since the server
 * started (rdb_saves, or a last background save that took any time) is the evidence that they are.
 */
export function fromInfo(info: string): Persistence {
  const field = (name: string) => new RegExp(`^${name}:(\\S*)`, 'm').exec(info)?.[1];
  const aof = field('aof_enabled');
  const saves = field('rdb_saves');
  const lastSave = field('rdb_last_bgsave_time_sec');
  const durable =
    aof === '1' || (saves !== undefined && Number(saves) > 0) || (lastSave !== undefined && lastSave !== '-1');
  return {
    durable,
    detail: `CONFIG refused; INFO persistence: aof_enabled:${aof ?? '?'} rdb_saves:${saves ?? '?'} rdb_last_bgsave_time_sec:${lastSave ?? '?'}`,
  };
}

/** Throws VolatileRedisError for a Redis that keeps nothing, unless allowed. */
export async function requireDurableRedis(redis: RedisClient, allowVolatile: boolean): Promise<Persistence> {
  const found = await redisPersistence(redis);
  if (!found.durable && !allowVolatile) throw new VolatileRedisError(found.detail);
  return found;
}
