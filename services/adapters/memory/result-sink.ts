// ResultSink in memory: what was published, in order, each with its key, for a process that acts on its
// results itself (a live scan printing each batch) and for tests. Publishing is at least once, as on the
// topics: a step redone after a crash publishes the same result again, and both copies are kept.
import type { ResultSink } from '../../../pipelines/ports.ts';

export interface PublishedResult {
  key: string;
  json: string;
}

export class MemoryResultSink implements ResultSink {
  readonly results: PublishedResult[] = [];
  readonly #notify: (result: PublishedResult) => void;

  /** `notify` is handed each result as it is published. */
  constructor(notify: (result: PublishedResult) => void = () => {}) {
    this.#notify = notify;
  }

  /** Bound to the sink: it may be handed on alone (wrapped, or put back after a test broke it). */
  readonly publish = async (key: string, json: string): Promise<void> => {
    const result = { key, json };
    this.results.push(result);
    this.#notify(result);
  };
}
