// Redis memory while a scenario runs: the server's used_memory (INFO; shared with whatever else uses that Redis)
// and the bytes held by the scenario's own prefix (MEMORY USAGE over its keys), sampled until stopped.
import type { RedisClient } from '../../services/adapters/redis/access.ts';

export interface MemorySample {
  usedBytes: number;
  prefixBytes: number;
  prefixKeys: number;
}

export async function sampleMemory(redis: RedisClient, prefix: string): Promise<MemorySample> {
  const info = await redis.info('memory');
  const usedBytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
  let prefixBytes = 0;
  let prefixKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    for (const [err, bytes] of (await pipeline.exec()) ?? []) {
      // A key removed between SCAN and MEMORY USAGE answers null.
      if (!err && typeof bytes === 'number') {
        prefixBytes += bytes;
        prefixKeys++;
      }
    }
  } while (cursor !== '0');
  return { usedBytes, prefixBytes, prefixKeys };
}

/** Samples every `intervalMs` until `stop`; keeps the first sample and the peaks. */
export function watchMemory(
  redis: RedisClient,
  prefix: string,
  intervalMs = 1000,
): { stop(): Promise<{ first: MemorySample; peak: MemorySample }> } {
  let first: MemorySample | null = null;
  const peak: MemorySample = { usedBytes: 0, prefixBytes: 0, prefixKeys: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const s = await sampleMemory(redis, prefix);
      first ??= s;
      peak.usedBytes = Math.max(peak.usedBytes, s.usedBytes);
      peak.prefixBytes = Math.max(peak.prefixBytes, s.prefixBytes);
      peak.prefixKeys = Math.max(peak.prefixKeys, s.prefixKeys);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { first: first!, peak };
    },
  };
}

export const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
