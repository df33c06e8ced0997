// Dead letters too large for where they are published (the Kafka dead-letter topic, or the Redis dead-letter
// stream of a deployment without Kafka): the whole letter is kept in Redis under a key of its own, with the
// reason and an expiry, and the letter published instead is a reference to it, without the original bytes.
// One implementation for both sinks, so a letter is stored by reference alike whichever way it came.
import { randomUUID } from 'node:crypto';

import type { DeadLetter } from '../../../schemas/dead-letter.ts';
import type { RedisClient } from './access.ts';
import type { Keys } from './keys.ts';

/** Keeps a whole letter that could not be published; returns the reference letter to publish instead. */
export type DeadLetterOverflow = (letter: DeadLetter, json: string, reason: string) => Promise<DeadLetter>;

/** The reference that goes out in place of a stored letter: everything but the original bytes, and where the rest is. */
export function referenceTo(letter: DeadLetter, stored: NonNullable<DeadLetter['stored']>): DeadLetter {
  const { original: _original, ...rest } = letter;
  return { ...rest, stored };
}

/** Stores letters as hashes (`letter`, `reason`) under keys.deadLetter(<uuid>), expiring after `ttlSeconds`. */
export function redisDeadLetterOverflow(redis: RedisClient, keys: Keys, ttlSeconds: number): DeadLetterOverflow {
  return async (letter, json, reason) => {
    const redisKey = keys.deadLetter(randomUUID());
    const replies = await redis
      .multi()
      .hset(redisKey, 'letter', json, 'reason', reason)
      .expire(redisKey, ttlSeconds)
      .exec();
    // A failed write (OOM at maxmemory) must not publish a reference to nothing.
    const failed = replies?.find(([err]) => err !== null)?.[0];
    if (!replies || failed) throw failed ?? new Error(`storing the dead letter under ${redisKey} was aborted`);
    return referenceTo(letter, { redisKey, bytes: Buffer.byteLength(json), reason });
  };
}
