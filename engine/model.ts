// A loaded model on the native engine. forward() runs a chunk of tokens from a state and leaves the new state
// in place — the one operation every pipeline is built from.
import {
  EngineOptionsSchema,
  ModelInfoSchema,
  StateInfoSchema,
  type EngineOptions,
  type LogitsMode,
  type ModelInfo,
  type StateInfo,
} from '../schemas/engine.ts';
import { EngineError, engineCall, engineCallSync } from './errors.ts';
import { native, type NativeModel } from './native.ts';
import { ResidentState } from './resident-state.ts';
import { RnnState } from './state.ts';

export interface StreamInput {
  tokens: ArrayLike<number>;
  state: RnnState;
  logits?: LogitsMode;
}

export type ModelOptions = Omit<EngineOptions, 'vocab'>;

export class Model {
  readonly info: ModelInfo;
  #native: NativeModel | undefined;
  #initial: Float32Array;

  private constructor(model: NativeModel) {
    this.#native = model;
    this.info = ModelInfoSchema.parse(model.info());
    this.#initial = model.initialState();
  }

  static async load(options: ModelOptions): Promise<Model> {
    const opts = EngineOptionsSchema.omit({ vocab: true }).parse(options);
    return new Model(
      await engineCall(() =>
        native().loadModel(opts.model, { weights: opts.weights, threads: opts.threads, device: opts.device }),
      ),
    );
  }

  #live(): NativeModel {
    if (!this.#native) throw new EngineError('E_ARGUMENT', 'model has been disposed');
    return this.#native;
  }

  /**
   * Where every document starts: the official initial state of the model's version (zeros; RWKV-4 keeps
   * pp = -1e30), a state-tuned checkpoint's own state, or the one set by useStateTuning().
   */
  newState(): RnnState {
    return new RnnState(this.#initial.slice());
  }

  /** The state a state-tuning file (blocks.{i}.att.time_state, x060 and x05x models) holds, as a new state. */
  async stateFromTuningFile(file: string): Promise<RnnState> {
    const model = this.#live();
    return new RnnState(await engineCall(() => model.readStateTuning(file)));
  }

  /** Makes every later newState() start from a state-tuning file's state. */
  async useStateTuning(file: string): Promise<void> {
    this.#initial = (await this.stateFromTuningFile(file)).data;
  }

  /**
   * Runs `tokens` from `state` (updated in place) and returns the logits asked for: none (null), the last
   * position's (vocabSize floats) or all positions' (tokens × vocabSize).
   */
  async forward(tokens: ArrayLike<number>, state: RnnState, logits: LogitsMode = 'last'): Promise<Float32Array | null> {
    const [out] = await this.forwardBatch([{ tokens, state, logits }]);
    return out ?? null;
  }

  /** Many independent streams in one call: one matrix product over all their tokens. */
  async forwardBatch(streams: StreamInput[]): Promise<(Float32Array | null)[]> {
    const model = this.#live();
    const calls = streams.map((s) => ({
      tokens: s.tokens instanceof Int32Array ? s.tokens : Int32Array.from(s.tokens),
      state: s.state.data,
      logits: s.logits ?? 'last',
    }));
    const out = await engineCall(() => model.forward(calls));
    streams.forEach((s, i) => {
      s.state.tokens += calls[i]!.tokens.length;
    });
    return out;
  }

  /** Whether resident states live in device memory (CUDA) rather than host memory. */
  get residentOnDevice(): boolean {
    const model = this.#live();
    return engineCallSync(() => model.slotsOnDevice());
  }

  /** `state` copied into a resident slot of this model; release() it (or `using`) when done. */
  resident(state: RnnState): ResidentState {
    const model = this.#live();
    const slot = engineCallSync(() => model.acquireSlot(state.data));
    return new ResidentState(this, model, slot, state.tokens);
  }

  /** forward() on resident states: the states advance where they live; only tokens and logits cross. */
  async forwardResident(
    streams: { tokens: ArrayLike<number>; state: ResidentState; logits?: LogitsMode }[],
  ): Promise<(Float32Array | null)[]> {
    const model = this.#live();
    for (const s of streams) {
      if (s.state.owner !== this) throw new EngineError('E_SLOT', 'the resident state belongs to another model');
    }
    const taken: ResidentState[] = [];
    try {
      const calls = streams.map((s) => {
        const slot = s.state.take();
        taken.push(s.state);
        return {
          tokens: s.tokens instanceof Int32Array ? s.tokens : Int32Array.from(s.tokens),
          slot,
          logits: s.logits ?? 'last',
        };
      });
      const out = await engineCall(() => model.forwardSlots(calls));
      streams.forEach((s, i) => {
        s.state.tokens += calls[i]!.tokens.length;
      });
      return out;
    } finally {
      for (const s of taken) s.give();
    }
  }

  /** The identity a state blob must carry to be accepted (tokenizer fingerprint empty: not checked). */
  stateIdentity(tokenizerFingerprint = ''): Omit<StateInfo, 'format' | 'tokens'> {
    return {
      version: this.info.version,
      modelFingerprint: this.info.fingerprint,
      tokenizerFingerprint,
      nLayer: this.info.nLayer,
      nEmbd: this.info.nEmbd,
      nHead: this.info.nHead,
      headSize: this.info.headSize,
    };
  }

  /** The portable blob of a state: header (fingerprints, dims, tokens, checksum) + raw fp32 state. */
  stateToBuffer(state: RnnState, tokenizerFingerprint = ''): Buffer {
    return native().encodeStateBlob({ ...this.stateIdentity(tokenizerFingerprint), tokens: state.tokens }, state.data);
  }

  /** Reads a blob, refusing a corrupted one (E_STATE) or one from another model or tokenizer (E_STATE_MISMATCH). */
  stateFromBuffer(blob: Uint8Array, tokenizerFingerprint = ''): RnnState {
    try {
      const { info, state } = native().decodeStateBlob(blob, {
        ...this.stateIdentity(tokenizerFingerprint),
        tokens: 0,
        stateFloats: this.info.stateFloats,
      });
      return new RnnState(state, StateInfoSchema.parse(info).tokens);
    } catch (err) {
      throw EngineError.from(err);
    }
  }

  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Reads a state blob's header without a model (inspection, doctor). */
export function readStateInfo(blob: Uint8Array): StateInfo {
  try {
    return StateInfoSchema.parse(native().decodeStateBlob(blob).info);
  } catch (err) {
    throw EngineError.from(err);
  }
}
