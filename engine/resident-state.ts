// A stream's state held where the model computes (a resident state slot: GPU memory on CUDA, host memory on
// the CPU), so a job that calls the model many times in a row — every generated token — moves only tokens
// and logits per call. The state comes back to the host only when asked (toState), e.g. for a checkpoint.
// Results are bit-identical to Model.forward on an RnnState (the slot contract in native/include/rwkv/state_slots.h).
import { EngineError, engineCallSync } from './errors.ts';
import type { NativeModel } from './native.ts';
import { RnnState } from './state.ts';

export class ResidentState {
  #slot: number | null;
  #busy = false;

  /** Made by Model.resident(); `owner` is the model whose slot this is. */
  constructor(
    readonly owner: object,
    private readonly native: NativeModel,
    slot: number,
    /** Tokens the state has consumed (as RnnState.tokens). */
    public tokens: number,
  ) {
    this.#slot = slot;
  }

  /** The slot id, for a forward call of the owning model; refused once released or while a call has it. */
  take(): number {
    const slot = this.#held();
    if (this.#busy) throw new EngineError('E_SLOT', 'the resident state is in use by another forward call');
    this.#busy = true;
    return slot;
  }

  /** The end of the forward call that took the slot. */
  give(): void {
    this.#busy = false;
  }

  /** A host copy of the state. */
  toState(): RnnState {
    const slot = this.#idle();
    return new RnnState(
      engineCallSync(() => this.native.readSlot(slot)),
      this.tokens,
    );
  }

  /** Copies the state into `state` (in place: the RnnState a caller passed in stays the one it holds). */
  copyTo(state: RnnState): void {
    state.data.set(this.toState().data);
    state.tokens = this.tokens;
  }

  /** Replaces the state with a host one. */
  write(state: RnnState): void {
    const slot = this.#idle();
    engineCallSync(() => this.native.writeSlot(slot, state.data));
    this.tokens = state.tokens;
  }

  /** Frees the slot for reuse; the state is gone (call toState first to keep it). Releasing twice is refused. */
  release(): void {
    const slot = this.#idle();
    this.#slot = null;
    engineCallSync(() => this.native.releaseSlot(slot));
  }

  [Symbol.dispose](): void {
    if (this.#slot !== null && !this.#busy) this.release();
  }

  #held(): number {
    if (this.#slot === null) throw new EngineError('E_SLOT', 'the resident state has been released');
    return this.#slot;
  }

  #idle(): number {
    const slot = this.#held();
    if (this.#busy) throw new EngineError('E_SLOT', 'the resident state is in use by a forward call');
    return slot;
  }
}
