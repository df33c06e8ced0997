// EventLog on Redis: a Redis stream per event stream, entry ids being the events' sequence numbers, so a
// drain reads "after the checkpoint's cursor" exactly, and trimming is idempotent. Redelivered records are
// recognised by their (topic, partition, offset), events written twice by their id (the last ids per stream).
// Memory is bounded by the limits, never by what producers send: silent streams expire, the number of live
// streams and of waiting events per stream are capped (refusals become dead letters at ingest).
import type { RedisClient } from './access.ts';

import { permanent } from '../../../pipelines/errors.ts';
import { EVENT_ID_HORIZON, type AppendOutcome, type Backlog, type EventLog } from '../../../pipelines/ports.ts';
import { StoredEventSchema, type StoredEvent } from '../../../schemas/events.ts';
import type { Keys } from './keys.ts';
import { APPEND_EVENT, REGISTER_STREAM } from './lua.ts';

type StreamEntry = [id: string, fields: string[]];

/** What bounds the memory event streams take: how long a silent stream lives, how many live at once, how many events wait. */
export interface StreamLimits {
  idleTtlSeconds: number;
  maxStreams: number;
  maxWaitingEvents: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  idleTtlSeconds: 7 * 24 * 3600,
  maxStreams: 100_000,
  maxWaitingEvents: 100_000,
};

export class RedisEventLog implements EventLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {}

  async append(stream: string, event: Omit<StoredEvent, 'seq'>): Promise<AppendOutcome> {
    const { idleTtlSeconds, maxStreams, maxWaitingEvents } = this.limits;
    // A producer can name any number of streams: each new one must fit under the cap before it takes memory.
    const live = await REGISTER_STREAM.run(
      this.redis,
      [this.keys.streams()],
      [stream, event.receivedAt, idleTtlSeconds * 1000, maxStreams],
    );
    if (live === 0) {
      throw permanent(
        'E_STREAM_LIMIT',
        `stream ${stream} is refused: ${maxStreams} event streams are live already ` +
          `(a stream stops counting after ${idleTtlSeconds} s without events)`,
      );
    }
    const [appended, pending, batch] = (await APPEND_EVENT.run(
      this.redis,
      [
        this.keys.offsets(stream),
        this.keys.events(stream),
        this.keys.checkpoint({ kind: 'stream', id: stream }),
        this.keys.eventIds(stream),
      ],
      [
        `${event.topic}/${event.partition}`,
        event.offset,
        JSON.stringify(event),
        event.id ?? '',
        EVENT_ID_HORIZON,
        idleTtlSeconds,
        maxWaitingEvents,
      ],
    )) as [number, number, number];
    if (appended === -1) {
      throw permanent(
        'E_STREAM_BACKLOG',
        `stream ${stream} has ${pending} events waiting to be scored, the most it may hold`,
      );
    }
    return { appended: appended === 1, pending, batch };
  }

  #parse(entries: StreamEntry[]): StoredEvent[] {
    return entries.map(([id, fields]) => {
      const json = fields[fields.indexOf('e') + 1]!;
      return StoredEventSchema.parse({ ...JSON.parse(json), seq: Number.parseInt(id, 10) });
    });
  }

  async read(stream: string, afterSeq: number, max: number): Promise<StoredEvent[]> {
    const entries = (await this.redis.xrange(
      this.keys.events(stream),
      `${afterSeq + 1}-0`,
      '+',
      'COUNT',
      max,
    )) as StreamEntry[];
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
