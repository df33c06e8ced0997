// Tokenizing a document that arrives as a stream of bytes, with exactly the ids that tokenizing it whole
// would give, in memory bounded by the window size.
//
// The World and byte tokenizers are greedy longest-match: the token starting at byte p depends only on bytes
// [p, p + longest token). So after encoding a window of L bytes, every token that starts at or before
// L - longest is final; the bytes from the first token after that are carried into the next window, which
// starts at a token boundary of the whole-text tokenization. Other tokenizers (BPE, as in the 20B tokenizer of
// RWKV-4 Pile models) merge across whole pre-tokenized words, so no such bound exists: their documents are
// gathered and encoded once at the end (exact, but memory grows with the document).
import type { Tokenizer } from '../engine/index.ts';

interface LengthTable {
  lengths: Uint16Array;
  longest: number;
}

const tables = new WeakMap<Tokenizer, LengthTable>();

/** Bytes per token id, computed once per tokenizer (World: 65530 ids, about 0.3 s). */
function lengthTable(tokenizer: Tokenizer): LengthTable {
  let table = tables.get(tokenizer);
  if (!table) {
    const lengths = new Uint16Array(tokenizer.info.vocabSize);
    let longest = 1;
    for (let id = 0; id < lengths.length; id++) {
      const n = tokenizer.decodeBytes([id]).length;
      lengths[id] = n;
      if (n > longest) longest = n;
    }
    table = { lengths, longest };
    tables.set(tokenizer, table);
  }
  return table;
}

const EMPTY = new Int32Array(0);

export class StreamTokenizer {
  readonly #tokenizer: Tokenizer;
  /** Null for tokenizers that are not greedy longest-match (their text is encoded whole). */
  readonly #table: LengthTable | null;
  readonly #windowBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  constructor(tokenizer: Tokenizer, windowBytes = 1 << 20) {
    this.#tokenizer = tokenizer;
    const greedy = tokenizer.info.kind === 'world' || tokenizer.info.kind === 'bytes';
    this.#table = greedy ? lengthTable(tokenizer) : null;
    // A window must be well beyond the longest token, or no token would ever be final.
    this.#windowBytes = Math.max(windowBytes, 4 * (this.#table?.longest ?? 1));
  }

  /** Takes more bytes; returns the ids that are final so far (often none until a window fills). */
  async push(bytes: Uint8Array): Promise<Int32Array> {
    if (bytes.length === 0) return EMPTY;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (!this.#table || this.#pendingBytes < this.#windowBytes) return EMPTY;
    return this.#encode(false);
  }

  /** The remaining ids, once the input has ended. */
  async end(): Promise<Int32Array> {
    return this.#encode(true);
  }

  async #encode(final: boolean): Promise<Int32Array> {
    if (this.#pendingBytes === 0) return EMPTY;
    const window = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    const ids = await this.#tokenizer.encode(window);
    if (final || !this.#table) return ids;

    const limit = window.length - this.#table.longest;
    const lengths = this.#table.lengths;
    let start = 0;
    let keep = 0;
    while (keep < ids.length && start <= limit) {
      start += lengths[ids[keep]!]!;
      keep++;
    }
    if (keep < ids.length) {
      // Carry a copy: the window is released, and the carried tail is at most `longest` bytes plus a token.
      const carry = Buffer.from(window.subarray(start));
      this.#pending.push(carry);
      this.#pendingBytes = carry.length;
    }
    return ids.subarray(0, keep);
  }
}
