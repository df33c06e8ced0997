// ResultSink and DeadLetterSink on Redis streams, for a deployment without Kafka: the same JSON the Kafka
// topics would carry, one stream entry each, read with XRANGE/XREAD. Each stream is trimmed to a configured
// length, so a flood of refused records cannot grow Redis without bound.

import type { DeadLetterSink, ResultSink } from '../../../pipelines/ports.ts';
import type { DeadLetter } from '../../../schemas/dead-letter.ts';
import type { RedisClient } from './access.ts';
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

export class RedisDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly redis: RedisClient,
    private readonly stream: string,
    private readonly maxLength: number,
  ) {}

  async publish(letter: DeadLetter): Promise<void> {
    await this.redis.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*',
      'key', letter.subject?.id ?? '', 'code', letter.code, 'stage', letter.stage, 'json', JSON.stringify(letter));
  }
}

export function redisSinks(redis: RedisClient, keys: Keys, maxLength: number): { results: ResultSink; deadLetters: DeadLetterSink } {
  return {
    results: new RedisResultSink(redis, keys.resultStream(), maxLength),
    deadLetters: new RedisDeadLetterSink(redis, keys.deadLetterStream(), maxLength),
  };
}
