// Reading a result by id, waiting for it if asked: what `rwkvstream result ID --wait S` does.
import { setTimeout as sleep } from 'node:timers/promises';

import type { RedisClient } from './access.ts';

import type { StateKey } from '../../../pipelines/ports.ts';
import type { Keys } from './keys.ts';

export async function readResult(
  redis: RedisClient,
  keys: Keys,
  kind: StateKey['kind'],
  id: string,
  waitMs: number,
): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    // A failure answers the wait too, unless a result exists (a later submission under the id succeeded).
    const [json, failure] = await redis.hmget(keys.result(kind, id), 'json', 'failure');
    if (json) return json;
    if (failure || Date.now() >= deadline) return failure ?? null;
    await sleep(Math.min(250, Math.max(1, deadline - Date.now())));
  }
}
