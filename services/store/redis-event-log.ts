// EventLog on Redis: a Redis stream per event stream, entry ids being the events' sequence numbers, so a
// drain reads "after the checkpoint's cursor" exactly, and trimming is idempotent. Redelivered records are
// recognised by their (topic, partition, offset), events written twice by their id (the last ids per stream).
import type { RedisClient } from '../redis/access.ts';

import { EVENT_ID_HORIZON, type AppendOutcome, type Backlog, type EventLog } from '../../pipelines/ports.ts';
import { StoredEventSchema, type StoredEvent } from '../../schemas/events.ts';
import type { Keys } from './keys.ts';
import { APPEND_EVENT } from './lua.ts';

type StreamEntry = [id: string, fields: string[]];

export class RedisEventLog implements EventLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async append(stream: string, event: Omit<StoredEvent, 'seq'>): Promise<AppendOutcome> {
    const [appended, pending, batch] = (await APPEND_EVENT.run(
      this.redis,
      [this.keys.offsets(stream), this.keys.events(stream), this.keys.checkpoint({ kind: 'stream', id: stream }), this.keys.eventIds(stream)],
      [`${event.topic}/${event.partition}`, event.offset, JSON.stringify(event), event.id ?? '', EVENT_ID_HORIZON],
    )) as [number, number, number];
    return { appended: appended === 1, pending, batch };
  }

  #parse(entries: StreamEntry[]): StoredEvent[] {
    return entries.map(([id, fields]) => {
      const json = fields[fields.indexOf('e') + 1]!;
      return StoredEventSchema.parse({ ...JSON.parse(json), seq: Number.parseInt(id, 10) });
    });
  }

  async read(stream: string, afterSeq: number, max: number): Promise<StoredEvent[]> {
    const entries = (await this.redis.xrange(this.keys.events(stream), `${afterSeq + 1}-0`, '+', 'COUNT', max)) as StreamEntry[];
    return this.#parse(entries);
  }

  async backlog(stream: string, afterSeq: number): Promise<Backlog> {
    const [last, oldest] = await Promise.all([
      this.redis.hget(this.keys.offsets(stream), '#seq'),
      this.read(stream, afterSeq, 1),
    ]);
    const count = Math.max(0, Number.parseInt(last ?? '0', 10) - afterSeq);
    return { count, oldestAt: oldest[0]?.receivedAt ?? null };
  }

  async trim(stream: string, throughSeq: number): Promise<void> {
    await this.redis.xtrim(this.keys.events(stream), 'MINID', `${throughSeq + 1}-0`);
  }
}
