// StateStore in memory: checkpoints that live as long as the process. Commits are fenced on the version as the
// Redis store's are, and a dropped state does not come back through a writer that started before the drop, so
// pipelines run on it behave as they do on Redis (test/ports holds it to the same contract). The maps are
// readable, so a test can look at or damage what was committed.
import type { CheckpointHead, CheckpointWrite, CommitOutcome, StateKey, StateStore } from '../../../pipelines/ports.ts';

const name = (key: StateKey) => `${key.kind}/${key.id}`;

export class MemoryStateStore implements StateStore {
  readonly heads = new Map<string, CheckpointHead>();
  readonly blobs = new Map<string, Buffer>();
  readonly commits: { key: string; chunk: number; version: number; writer: string }[] = [];
  /** The last version of each dropped state (Redis keeps it in the state's audit trail). */
  readonly #dropped = new Map<string, number>();
  #serial = 0;

  async head(key: StateKey): Promise<CheckpointHead | null> {
    const h = this.heads.get(name(key));
    return h ? { ...h } : null;
  }

  async blob(_key: StateKey, head: CheckpointHead): Promise<Buffer | null> {
    return this.blobs.get(head.ref) ?? null;
  }

  async commit(key: StateKey, expectedVersion: number, write: CheckpointWrite): Promise<CommitOutcome> {
    const current = this.heads.get(name(key));
    // A dropped state does not come back through a writer that started before the drop (as the Redis store).
    const dropped = this.#dropped.get(name(key));
    if (!current && dropped !== undefined) return { ok: false, current: dropped };
    if ((current?.version ?? 0) !== expectedVersion) return { ok: false, current: current?.version ?? 0 };
    const ref = `${name(key)}#${++this.#serial}`;
    this.blobs.set(ref, Buffer.from(write.blob));
    if (current) this.blobs.delete(current.ref);
    const version = expectedVersion + 1;
    this.heads.set(name(key), {
      version,
      chunk: write.chunk,
      tokens: write.tokens,
      cursor: write.cursor,
      bytes: write.blob.byteLength,
      ref,
      result: write.result,
      published: write.result === null,
    });
    this.commits.push({ key: name(key), chunk: write.chunk, version, writer: write.writer });
    return { ok: true, version };
  }

  async markPublished(key: StateKey, version: number): Promise<void> {
    const h = this.heads.get(name(key));
    if (h && h.version === version) h.published = true;
  }

  async drop(key: StateKey): Promise<void> {
    const h = this.heads.get(name(key));
    if (h) {
      this.blobs.delete(h.ref);
      this.#dropped.set(name(key), h.version);
    }
    this.heads.delete(name(key));
  }

  /** Forgets a state and its history (a reopened failed document starts a new chain). */
  forget(key: StateKey): void {
    const h = this.heads.get(name(key));
    if (h) this.blobs.delete(h.ref);
    this.heads.delete(name(key));
    this.#dropped.delete(name(key));
  }
}
