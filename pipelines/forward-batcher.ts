// Batched scheduling of model work. Jobs of different documents and stream keys submit their model calls here
// instead of calling the model themselves; calls that are ready together run as ONE Model.forwardBatch (one
// matrix product over every stream's tokens, each stream with its own state and token count). Everything
// around the call — checkpoint load, fenced commit, successor enqueue, error handling — stays in each job, so
// order, fencing and crash recovery are those of a job that runs alone: a batch only shares the arithmetic.
//
// A batch forms from what is waiting: it runs when `streams` requests or `tokens` tokens wait, or when the
// oldest request has waited `waitMs`. A request puts at most `sliceTokens` tokens into one batch and goes on in
// the next (splitting a sequence is exact: the state carries everything), so a long document chunk and a
// thousand short event chunks take turns slice by slice rather than one waiting for the other.
import type { BatchSettings } from '../schemas/config.ts';
import type { LogitsMode } from '../schemas/engine.ts';
import type { ErrorCode } from '../schemas/error-codes.ts';
import { EngineError, type Model, type RnnState } from '../engine/index.ts';
import type { Forward } from './tasks/forward.ts';

/** The part of a model the batcher uses (a test can wrap a real model to watch or break its calls). */
export type BatchModel = Pick<Model, 'forwardBatch'> & { info: Pick<Model['info'], 'vocabSize' | 'stateFloats'> };

/** One batched forward, for metrics. */
export interface BatchReport {
  streams: number;
  tokens: number;
  seconds: number;
}

interface Request {
  tokens: Int32Array;
  state: RnnState;
  logits: LogitsMode;
  /** Tokens already run. */
  done: number;
  /** All-position logits of the slices run so far. */
  parts: Float32Array[];
  last: Float32Array | null;
  /** When it came; null for a request that has had a slice already (it is ready at once). */
  arrivedAt: number | null;
  resolve(logits: Float32Array | null): void;
  reject(err: unknown): void;
}

interface Slice {
  request: Request;
  tokens: Int32Array;
  logits: LogitsMode;
}

/**
 * Errors the engine raises while checking its arguments, before any state is touched: after one of them the
 * batch's states are as they were, so each request can be run again alone to find the one at fault.
 */
const CHECKED_BEFORE_COMPUTE = new Set<string>(['E_TOKEN', 'E_ARGUMENT'] satisfies ErrorCode[]);

export class ForwardBatcher {
  readonly #model: BatchModel;
  readonly #settings: BatchSettings;
  readonly #onBatch: (report: BatchReport) => void;
  #queue: Request[] = [];
  /** States waiting or being run: one state in two requests at once would be a caller's bug. */
  readonly #states = new Set<RnnState>();
  #running = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(model: BatchModel, settings: BatchSettings, onBatch: (report: BatchReport) => void = () => {}) {
    this.#model = model;
    this.#settings = settings;
    this.#onBatch = onBatch;
  }

  /** Requests waiting for a batch (not counting the batch being run). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Same contract as Model.forward; resolves once every slice of this request has run. */
  readonly forward: Forward = (tokens, state, logits) => {
    const invalid = this.#check(tokens, state, logits);
    if (invalid) return Promise.reject(invalid);
    if (tokens.length === 0) {
      // Nothing to batch; the engine's own answer for an empty call (no logits, or an empty array) stands.
      return this.#model.forwardBatch([{ tokens, state, logits }]).then(([out]) => out ?? null);
    }
    return new Promise((resolve, reject) => {
      this.#states.add(state);
      this.#queue.push({
        tokens,
        state,
        logits,
        done: 0,
        parts: [],
        last: null,
        arrivedAt: performance.now(),
        resolve: (out) => {
          this.#states.delete(state);
          resolve(out);
        },
        reject: (err) => {
          this.#states.delete(state);
          reject(err);
        },
      });
      this.#kick();
    });
  };

  /**
   * What the engine would refuse, checked per request so that one job's bad input fails that job alone
   * instead of the whole batched call.
   */
  #check(tokens: Int32Array, state: RnnState, logits: LogitsMode): EngineError | null {
    const { vocabSize, stateFloats } = this.#model.info;
    if (state.data.length !== stateFloats) {
      return new EngineError('E_ARGUMENT', `the state has ${state.data.length} floats; the model's has ${stateFloats}`);
    }
    if (this.#states.has(state)) return new EngineError('E_ARGUMENT', 'this state is already in a waiting model call');
    if (logits === 'last' && tokens.length === 0) {
      return new EngineError('E_ARGUMENT', 'logits of the last position need at least one token');
    }
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t < 0 || t >= vocabSize) {
        return new EngineError('E_TOKEN', `token ${t} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
      }
    }
    return null;
  }

  /** Starts a batch when one is due; otherwise makes sure a timer starts it when the oldest request's wait ends. */
  #kick(): void {
    if (this.#running || this.#queue.length === 0) return;
    const { streams, tokens, waitMs } = this.#settings;
    let waitingTokens = 0;
    let oldest = Infinity;
    let ready = false;
    for (const r of this.#queue) {
      waitingTokens += Math.min(r.tokens.length - r.done, this.#settings.sliceTokens);
      if (r.arrivedAt === null) ready = true;
      else oldest = Math.min(oldest, r.arrivedAt);
    }
    const wait = oldest + waitMs - performance.now();
    if (ready || this.#queue.length >= streams || waitingTokens >= tokens || wait <= 0) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      void this.#run(this.#take());
      return;
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#kick();
      }, wait);
    }
  }

  /** The next batch, in arrival order, within the caps on streams, tokens and logits; the rest keep waiting. */
  #take(): Slice[] {
    const { streams, tokens, sliceTokens, logitsFloats } = this.#settings;
    const vocab = this.#model.info.vocabSize;
    const slices: Slice[] = [];
    const rest: Request[] = [];
    let tokenRoom = tokens;
    let floatRoom = logitsFloats;
    for (const request of this.#queue) {
      // The first slice of a batch is always taken, with at least one token, so no cap can stall the queue.
      const first = slices.length === 0;
      const remaining = request.tokens.length - request.done;
      let n = Math.min(remaining, sliceTokens, tokenRoom);
      if (request.logits === 'all') n = Math.min(n, Math.floor(floatRoom / vocab));
      if (first) n = Math.max(n, 1);
      const final = request.done + n === request.tokens.length;
      const logits: LogitsMode =
        request.logits === 'all' ? 'all' : request.logits === 'last' && final ? 'last' : 'none';
      const floats = logits === 'all' ? n * vocab : logits === 'last' ? vocab : 0;
      if (!first && (slices.length >= streams || n <= 0 || floats > floatRoom)) {
        rest.push(request);
        continue;
      }
      slices.push({ request, tokens: request.tokens.subarray(request.done, request.done + n), logits });
      tokenRoom -= n;
      floatRoom -= floats;
    }
    this.#queue = rest;
    return slices;
  }

  async #run(slices: Slice[]): Promise<void> {
    this.#running = true;
    try {
      const started = performance.now();
      let outs: (Float32Array | null)[] | null = null;
      let failure: unknown = null;
      try {
        outs = await this.#model.forwardBatch(
          slices.map((s) => ({ tokens: s.tokens, state: s.request.state, logits: s.logits })),
        );
      } catch (err) {
        failure = err;
      }
      this.#onBatch({
        streams: slices.length,
        tokens: slices.reduce((n, s) => n + s.tokens.length, 0),
        seconds: (performance.now() - started) / 1000,
      });
      if (outs) {
        slices.forEach((s, i) => this.#advance(s, outs[i] ?? null));
      } else if (slices.length > 1 && CHECKED_BEFORE_COMPUTE.has(EngineError.from(failure).code)) {
        // Refused before any state changed: run each alone so only the request at fault fails.
        for (const s of slices) {
          try {
            const [out] = await this.#model.forwardBatch([
              { tokens: s.tokens, state: s.request.state, logits: s.logits },
            ]);
            this.#advance(s, out ?? null);
          } catch (err) {
            s.request.reject(err);
          }
        }
      } else {
        // Failed while computing: the states may be half written, so no request may go on from them. Each job
        // fails this attempt and, being retriable or not as the error says, starts again from its checkpoint.
        for (const s of slices) s.request.reject(failure);
      }
    } finally {
      this.#running = false;
      this.#kick();
    }
  }

  /** Records a slice's output; a finished request resolves, an unfinished one waits for its next slice, ready at once. */
  #advance(slice: Slice, out: Float32Array | null): void {
    const r = slice.request;
    r.done += slice.tokens.length;
    if (slice.logits === 'all' && out) r.parts.push(out);
    if (slice.logits === 'last') r.last = out;
    if (r.done < r.tokens.length) {
      r.arrivedAt = null;
      this.#queue.push(r);
      return;
    }
    if (r.logits === 'none') r.resolve(null);
    else if (r.logits === 'last') r.resolve(r.last);
    else r.resolve(r.parts.length === 1 ? r.parts[0]! : concat(r.parts));
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The model call a pipeline step makes: through the batcher when the worker batches, else straight to the model. */
export function forwardOf(deps: { engine: { model: Pick<Model, 'forward'> }; forward?: Forward }): Forward {
  return deps.forward ?? ((tokens, state, logits) => deps.engine.model.forward(tokens, state, logits));
}
