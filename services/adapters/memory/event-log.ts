// EventLog in memory, for streams read from a file. Nothing of it needs to survive the process: the input is
// read again by a resumed run, delivering the same records in the same order, so every event gets the
// sequence number it had before. Events up to the stream's checkpoint cursor were read into the committed
// state by an earlier run: they count as taken in (appended: false) and are not kept. Memory holds the events
// waiting for their batch, and no more. Event ids are remembered (the last EVENT_ID_HORIZON per stream) for
// every event read, before or after the cursor, so a replay drops exactly the duplicates the first run dropped.
import {
  EVENT_ID_HORIZON,
  type AppendOutcome,
  type Backlog,
  type EventLog,
  type StateStore,
} from '../../../pipelines/ports.ts';
import type { StoredEvent } from '../../../schemas/events.ts';

interface StreamLog {
  /** Sequence number of the last event taken in. */
  seq: number;
  /** The last offset taken in, per "topic/partition". */
  offsets: Map<string, bigint>;
  /** The last ids taken in, oldest first (a Set keeps insertion order). */
  ids: Set<string>;
  waiting: StoredEvent[];
}

export class MemoryEventLog implements EventLog {
  readonly #states: StateStore;
  readonly #streams = new Map<string, StreamLog>();

  constructor(states: StateStore) {
    this.#states = states;
  }

  #log(stream: string): StreamLog {
    let log = this.#streams.get(stream);
    if (!log) {
      log = { seq: 0, offsets: new Map(), ids: new Set(), waiting: [] };
      this.#streams.set(stream, log);
    }
    return log;
  }

  /**
   * Numbers the stream's next event `seq + 1`: a live input resumed at a known position (the events before it
   * are not read again). Only before the stream's first event of this process.
   */
  resumeAt(stream: string, seq: number): void {
    const log = this.#log(stream);
    if (log.seq !== 0 || log.waiting.length > 0) throw new Error(`stream ${stream} has taken in events already`);
    log.seq = seq;
  }

  /** Sequence number of the stream's last event taken in (0: none). */
  lastSeq(stream: string): number {
    return this.#log(stream).seq;
  }

  async append(stream: string, event: Omit<StoredEvent, 'seq'>): Promise<AppendOutcome> {
    const head = await this.#states.head({ kind: 'stream', id: stream });
    const cursor = head?.cursor ?? 0;
    const batch = head?.chunk ?? 0;
    const log = this.#log(stream);
    const source = `${event.topic}/${event.partition}`;
    const offset = BigInt(event.offset);
    const last = log.offsets.get(source);
    if (last !== undefined && last >= offset) return { appended: false, pending: Math.max(0, log.seq - cursor), batch };
    log.offsets.set(source, offset);
    if (event.id !== undefined) {
      if (log.ids.has(event.id)) return { appended: false, pending: Math.max(0, log.seq - cursor), batch };
      log.ids.add(event.id);
      if (log.ids.size > EVENT_ID_HORIZON) log.ids.delete(log.ids.values().next().value!);
    }
    const seq = ++log.seq;
    if (seq <= cursor) return { appended: false, pending: 0, batch };
    log.waiting.push({ ...event, seq });
    return { appended: true, pending: seq - cursor, batch };
  }

  async read(stream: string, afterSeq: number, max: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const event of this.#log(stream).waiting) {
      if (out.length >= max) break;
      if (event.seq > afterSeq) out.push(event);
    }
    return out;
  }

  async backlog(stream: string, afterSeq: number): Promise<Backlog> {
    const log = this.#log(stream);
    const oldest = log.waiting.find((e) => e.seq > afterSeq);
    return { count: Math.max(0, log.seq - afterSeq), oldestAt: oldest?.receivedAt ?? null };
  }

  async trim(stream: string, throughSeq: number): Promise<void> {
    const log = this.#log(stream);
    const keep = log.waiting.findIndex((e) => e.seq > throughSeq);
    log.waiting.splice(0, keep < 0 ? log.waiting.length : keep);
  }
}
