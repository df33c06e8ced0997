// ResultSink and DeadLetterSink on Redis streams, for a deployment without Kafka: the same JSON the Kafka
// topics would carry, one stream entry each, read with XRANGE/XREAD. Each stream is trimmed to a configured
// length, so a flood of refused records cannot grow Redis without bound; a dead letter larger than the Kafka
// dead-letter topic would take is stored by reference as on the Kafka path (its whole letter under a key that
// expires), so the stream's size stays bounded by its length times that limit.

import type { DeadLetterSink, ResultSink } from '../../../pipelines/ports.ts';
import type { DeadLetter } from '../../../schemas/dead-letter.ts';
import type { RedisClient } from './access.ts';
import type { DeadLetterOverflow } from './dead-letter-store.ts';
import type { Keys } from './keys.ts';

export class RedisResultSink implements ResultSink {
  constructor(
    private readonly redis: RedisClient,
    private readonly stream: string,
    private readonly maxLength: number,
  ) {}

  async publish(key: string, json: string): Promise<void> {
    await this.redis.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*', 'key', key, 'json', json);
  }
}

/** Letters above `maxBytes` go to `overflow` and the stream carries the reference it returns. */
export interface DeadLetterLimit {
  maxBytes: number;
  overflow: DeadLetterOverflow;
}

export class RedisDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly redis: RedisClient,
    private readonly stream: string,
    private readonly maxLength: number,
    private readonly limit?: DeadLetterLimit,
  ) {}

  async publish(letter: DeadLetter): Promise<void> {
    let json = JSON.stringify(letter);
    const bytes = Buffer.byteLength(json);
    if (this.limit && bytes > this.limit.maxBytes) {
      const reason = `the dead letter has ${bytes} bytes, more than the ${this.limit.maxBytes} a dead-letter stream entry may hold`;
      json = JSON.stringify(await this.limit.overflow(letter, json, reason));
    }
    await this.redis.xadd(
      this.stream,
      'MAXLEN',
      '~',
      this.maxLength,
      '*',
      'key',
      letter.subject?.id ?? '',
      'code',
      letter.code,
      'stage',
      letter.stage,
      'json',
      json,
    );
  }
}

export function redisSinks(
  redis: RedisClient,
  keys: Keys,
  maxLength: number,
  limit?: DeadLetterLimit,
): { results: ResultSink; deadLetters: DeadLetterSink } {
  return {
    results: new RedisResultSink(redis, keys.resultStream(), maxLength),
    deadLetters: new RedisDeadLetterSink(redis, keys.deadLetterStream(), maxLength, limit),
  };
}
