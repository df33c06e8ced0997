// StateStore on Redis: the blob goes to an immutable, versioned key with a plain SET (big values through Lua
// are about twice as slow), then the fenced commit script flips the checkpoint to it. A writer whose version
// is stale — a duplicate run, or a worker that lost its job lock — changes nothing, and its blob is removed.
import { randomBytes } from 'node:crypto';

import type { RedisClient } from './access.ts';

import { transient } from '../../../pipelines/errors.ts';
import type { CheckpointHead, CheckpointWrite, CommitOutcome, StateKey, StateStore } from '../../../pipelines/ports.ts';
import type { Keys } from './keys.ts';
import { COMMIT, DROP_STATE, MARK_PUBLISHED } from './lua.ts';

/** How long an uncommitted blob lives: far longer than the gap between its SET and the commit. */
const PENDING_BLOB_MS = 10 * 60 * 1000;
/** Commits kept in a state's audit trail. */
const AUDIT_ENTRIES = 1000;

function int(value: string | undefined): number {
  return value === undefined ? 0 : Number.parseInt(value, 10);
}

export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** How long the audit trail of a dropped state is kept. */
    private readonly auditRetentionSeconds = 7 * 24 * 3600,
    /** An event stream's state expires this long after its last commit or event (0: never). */
    private readonly streamIdleTtlSeconds = 0,
  ) {}

  async head(key: StateKey): Promise<CheckpointHead | null> {
    const h = await this.redis.hgetall(this.keys.checkpoint(key));
    if (h.version === undefined || h.blob === undefined) return null;
    return {
      version: int(h.version),
      chunk: int(h.chunk),
      tokens: int(h.tokens),
      cursor: int(h.cursor),
      bytes: int(h.bytes),
      ref: h.blob,
      result: h.result ? h.result : null,
      published: h.published === '1',
    };
  }

  async blob(_key: StateKey, head: CheckpointHead): Promise<Buffer | null> {
    return this.redis.getBuffer(head.ref);
  }

  async commit(key: StateKey, expectedVersion: number, write: CheckpointWrite): Promise<CommitOutcome> {
    const blobKey = this.keys.blob(key, expectedVersion + 1, randomBytes(6).toString('hex'));
    const blob = Buffer.from(write.blob.buffer, write.blob.byteOffset, write.blob.byteLength);
    await this.redis.set(blobKey, blob, 'PX', PENDING_BLOB_MS);
    const [status, version] = (await COMMIT.run(
      this.redis,
      [this.keys.checkpoint(key), blobKey, this.keys.audit(key)],
      [
        expectedVersion,
        write.chunk,
        write.tokens,
        write.cursor,
        write.blob.byteLength,
        write.result ?? '',
        write.writer,
        Date.now(),
        AUDIT_ENTRIES,
        key.kind === 'stream' ? this.streamIdleTtlSeconds : 0,
      ],
    )) as [number, number];
    if (status === 1) return { ok: true, version };
    await this.redis.unlink(blobKey);
    if (status === -1)
      throw transient('E_BLOB_EXPIRED', `the state blob of ${key.kind} ${key.id} expired before its commit`);
    return { ok: false, current: version };
  }

  async markPublished(key: StateKey, version: number): Promise<void> {
    await MARK_PUBLISHED.run(this.redis, [this.keys.checkpoint(key)], [version]);
  }

  async drop(key: StateKey): Promise<void> {
    await DROP_STATE.run(this.redis, [this.keys.checkpoint(key), this.keys.audit(key)], [this.auditRetentionSeconds]);
  }

  /** The audit trail of commits (oldest first): chunk, version, tokens, writer, time. */
  async audit(
    key: StateKey,
  ): Promise<{ chunk: number; version: number; tokens: number; writer: string; at: number }[]> {
    const entries = await this.redis.lrange(this.keys.audit(key), 0, -1);
    return entries.map(
      (e) => JSON.parse(e) as { chunk: number; version: number; tokens: number; writer: string; at: number },
    );
  }
}
