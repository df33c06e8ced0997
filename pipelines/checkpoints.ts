// Loading and committing RNN states through the StateStore port. The blob is the engine's own state blob
// (fingerprints, dimensions, token count, checksum), so a state from another model or a corrupted blob is
// refused on load. The state this worker committed last is kept in memory: when the next chunk of the same
// document comes to this worker and the store still holds exactly that version, the blob is not read back.
import type { Engine, RnnState } from '../engine/index.ts';
import { permanent, transient } from './errors.ts';
import type { CheckpointHead, CommitOutcome, StateKey, StateStore, Telemetry } from './ports.ts';

export interface LoadedState {
  /** The committed head the state came from; null for a state that has no checkpoint yet. */
  head: CheckpointHead | null;
  state: RnnState;
  /** Whether the state came from this worker's memory (no blob read). */
  cached: boolean;
}

/** A commit's outcome with its cost: blob size and time (serialization and store). */
export type TimedCommit = CommitOutcome & { bytes: number; ms: number };

function cacheKey(key: StateKey): string {
  return `${key.kind}/${key.id}`;
}

export class Checkpointer {
  readonly #engine: Engine;
  readonly #store: StateStore;
  readonly #telemetry: Telemetry;
  readonly #writer: string;
  #cached: { key: string; version: number; state: RnnState } | null = null;

  constructor(engine: Engine, store: StateStore, telemetry: Telemetry, writer: string) {
    this.#engine = engine;
    this.#store = store;
    this.#telemetry = telemetry;
    this.#writer = writer;
  }

  /** The latest committed state (the zero state when there is none). The caller owns the returned state. */
  async load(key: StateKey): Promise<LoadedState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = await this.#store.head(key);
      if (!head) return { head: null, state: this.#engine.model.newState(), cached: false };
      const cached = this.#take(key, head.version);
      if (cached) return { head, state: cached, cached: true };
      const started = performance.now();
      const blob = await this.#store.blob(key, head);
      // Null: a commit replaced this version between the two reads; read the new head.
      if (!blob) continue;
      const state = this.#engine.stateFromBuffer(blob);
      this.#telemetry.checkpoint('load', blob.length, (performance.now() - started) / 1000);
      return { head, state, cached: false };
    }
    throw transient('E_CHECKPOINT_BUSY', `the checkpoint of ${cacheKey(key)} kept changing while it was read`);
  }

  /**
   * Commits `state` as the successor of `from` (fenced on its version). On success the state stays cached for
   * this worker's next load; on rejection nothing changed in the store. Throws E_CHECKPOINT_REGRESSED when
   * the store's version is below `from`'s.
   */
  async commit(
    key: StateKey,
    from: CheckpointHead | null,
    state: RnnState,
    next: { chunk: number; cursor?: number; result?: string | null },
  ): Promise<TimedCommit> {
    const started = performance.now();
    const blob = this.#engine.stateToBuffer(state);
    const expected = from?.version ?? 0;
    const outcome = await this.#store.commit(key, expected, {
      blob,
      chunk: next.chunk,
      tokens: state.tokens,
      cursor: next.cursor ?? 0,
      result: next.result ?? null,
      writer: this.#writer,
    });
    const ms = performance.now() - started;
    if (!outcome.ok && outcome.current < expected) {
      // Versions only grow, and a dropped state reports its last one: a lower version means the store lost
      // commits (a Redis restarted without persistence, a failover to a lagging replica). Going on from there
      // would silently drop or repeat work, so the document or stream fails loudly instead.
      this.#telemetry.commitRejected(key.kind);
      this.forget(key);
      throw permanent(
        'E_CHECKPOINT_REGRESSED',
        `the checkpoint of ${cacheKey(key)} went back from version ${expected} ` +
          `to ${outcome.current}: the store lost commits (restarted without persistence, or failed over to a lagging replica)`,
      );
    }
    if (outcome.ok) {
      this.#telemetry.checkpoint('commit', blob.length, ms / 1000);
      this.#cached = { key: cacheKey(key), version: outcome.version, state };
    } else {
      this.#telemetry.commitRejected(key.kind);
    }
    return { ...outcome, bytes: blob.length, ms };
  }

  /** Forgets the cached state of `key` (its checkpoint is gone). */
  forget(key: StateKey): void {
    if (this.#cached?.key === cacheKey(key)) this.#cached = null;
  }

  /** Hands out the cached state once, so two jobs never share one mutable state. */
  #take(key: StateKey, version: number): RnnState | null {
    const cached = this.#cached;
    if (!cached || cached.key !== cacheKey(key) || cached.version !== version) return null;
    this.#cached = null;
    return cached.state;
  }
}
