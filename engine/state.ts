// The RNN state of one stream: the raw fp32 state (fixtures' layout) plus how many tokens it has consumed.
// Its portable form is the native state blob (header with fingerprints and checksum, then the floats).

export class RnnState {
  constructor(
    readonly data: Float32Array,
    public tokens = 0,
  ) {}

  clone(): RnnState {
    return new RnnState(this.data.slice(), this.tokens);
  }

  /** The raw float32 little-endian state, as the fixtures and `logits --state-out` store it. */
  rawBytes(): Buffer {
    return Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }
}
