// ResultStore on Redis: results readable by document or stream id (`rwkvstream result ID`), with the
// "published" flag that makes a redone finish step publish the stored result instead of a new one. A stream
// also keeps its last batches (a bounded history, for `result --stream` and its --follow); a batch published
// again after a crash is the same JSON, so it is kept once. A failure
// is kept in its own field: it is what `result` shows until a result exists, and never blocks one (a document
// whose reference failed can be submitted again under its id).
import type { RedisClient } from './access.ts';

import type { ResultStore, StateKey, StoredResult } from '../../../pipelines/ports.ts';
import type { Keys } from './keys.ts';
import { SAVE_DOCUMENT_RESULT } from './lua.ts';

/** Sections read per round trip. */
const SECTION_READ = 256;

export const DEFAULT_HISTORY_BATCHES = 1000;

export class RedisResultStore implements ResultStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** How long a document's result (and a stream's history after its last batch) stays readable. */
    private readonly retentionSeconds: number,
    /** Batch results kept per stream. */
    private readonly historyBatches = DEFAULT_HISTORY_BATCHES,
    /** A stream's last result expires this long after its last batch (0: never). */
    private readonly streamIdleTtlSeconds = 0,
  ) {}

  async saveDocument(id: string, json: string): Promise<StoredResult> {
    const [stored, published] = (await SAVE_DOCUMENT_RESULT.run(
      this.redis,
      [this.keys.result('document', id)],
      [json, this.retentionSeconds],
    )) as [string, string];
    // The sections stay readable as long as the result (a long document's first sections were stored long ago).
    await this.redis.expire(this.keys.sections(id), this.retentionSeconds);
    return { json: stored, published: published === '1' };
  }

  async saveSection(id: string, index: number, json: string): Promise<string> {
    const key = this.keys.sections(id);
    const field = String(index);
    const replies = await this.redis
      .multi()
      .hsetnx(key, field, json)
      .expire(key, this.retentionSeconds)
      .hget(key, field)
      .exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error(`storing section ${index} of ${id} was aborted`);
    return String(replies[2]![1]);
  }

  async getSections(id: string, from = 0, to = Number.POSITIVE_INFINITY): Promise<string[]> {
    const key = this.keys.sections(id);
    const end = Number.isFinite(to) ? to : from + (await this.redis.hlen(key));
    const out: string[] = [];
    // In slices, so thousands of sections never make one huge reply.
    for (let at = from; at < end; at += SECTION_READ) {
      const fields = Array.from({ length: Math.min(SECTION_READ, end - at) }, (_, i) => String(at + i));
      for (const json of await this.redis.hmget(key, ...fields)) {
        if (json === null) return out;
        out.push(json);
      }
    }
    return out;
  }

  async getDocument(id: string): Promise<StoredResult | null> {
    const [json, published] = await this.redis.hmget(this.keys.result('document', id), 'json', 'published');
    return json ? { json, published: published === '1' } : null;
  }

  async markDocumentPublished(id: string): Promise<void> {
    await this.redis.hset(this.keys.result('document', id), 'published', '1');
  }

  async saveFailure(id: string, json: string): Promise<void> {
    const key = this.keys.result('document', id);
    const tx = this.redis.multi();
    tx.hset(key, 'failure', json);
    tx.expire(key, this.retentionSeconds);
    await tx.exec();
  }

  async saveStream(id: string, json: string): Promise<void> {
    const history = this.keys.history(id);
    const batch = (JSON.parse(json) as { batch: number }).batch;
    const tx = this.redis
      .multi()
      .hset(this.keys.result('stream', id), 'json', json, 'published', '1')
      .zadd(history, batch, json)
      .zremrangebyrank(history, 0, -(this.historyBatches + 1));
    if (this.retentionSeconds > 0) tx.expire(history, this.retentionSeconds);
    // The stream's last result goes with its state when the stream falls silent.
    if (this.streamIdleTtlSeconds > 0) tx.expire(this.keys.result('stream', id), this.streamIdleTtlSeconds);
    const replies = await tx.exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error(`storing batch ${batch} of stream ${id} was aborted`);
  }

  /** A stream's batch results after batch `after` (-1: from the oldest kept), oldest first, at most `limit`. */
  async getStreamBatches(id: string, after: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.history(id), `(${after}`, '+inf', 'LIMIT', 0, limit);
  }

  /** A stream's last `count` batch results, oldest first. */
  async getRecentBatches(id: string, count: number): Promise<string[]> {
    if (count <= 0) return [];
    return this.redis.zrange(this.keys.history(id), -count, -1);
  }

  async get(kind: StateKey['kind'], id: string): Promise<string | null> {
    const [json, failure] = await this.redis.hmget(this.keys.result(kind, id), 'json', 'failure');
    return json ?? failure ?? null;
  }
}
