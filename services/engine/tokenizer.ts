// Tokenizers over the native implementation: RWKV World (vocab file) or bytes (id = byte value).
import { TokenizerInfoSchema, type TokenizerInfo } from '../../schemas/engine.ts';
import { EngineError, engineCall } from './errors.ts';
import { native, type NativeTokenizer } from './native.ts';

/** Text goes in as UTF-8; raw bytes (any, including invalid UTF-8) pass through unchanged. */
function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

export class Tokenizer {
  readonly info: TokenizerInfo;
  readonly #native: NativeTokenizer;

  private constructor(nativeTokenizer: NativeTokenizer) {
    this.#native = nativeTokenizer;
    this.info = TokenizerInfoSchema.parse(nativeTokenizer.info());
  }

  static async world(vocabPath: string): Promise<Tokenizer> {
    return new Tokenizer(await engineCall(() => native().loadWorldTokenizer(vocabPath)));
  }

  static bytes(): Tokenizer {
    return new Tokenizer(native().byteTokenizer());
  }

  /** "bytes" names the byte tokenizer; anything else is a World vocab file. */
  static async load(spec: string): Promise<Tokenizer> {
    return spec === 'bytes' ? Tokenizer.bytes() : Tokenizer.world(spec);
  }

  /** Encodes off the event loop (documents of many megabytes). */
  async encode(input: string | Uint8Array): Promise<Int32Array> {
    return engineCall(() => this.#native.encode(toBytes(input)));
  }

  /** Encodes on the calling thread: for short prompts and labels. */
  encodeSync(input: string | Uint8Array): Int32Array {
    try {
      return this.#native.encodeSync(toBytes(input));
    } catch (err) {
      throw EngineError.from(err);
    }
  }

  decodeBytes(ids: ArrayLike<number>): Buffer {
    try {
      return this.#native.decode(Int32Array.from(ids));
    } catch (err) {
      throw EngineError.from(err);
    }
  }

  decode(ids: ArrayLike<number>): string {
    return this.decodeBytes(ids).toString('utf8');
  }

  /**
   * Whether this tokenizer's ids are rows of a model's embedding: every id must exist, and the model may have
   * only a few unused padding rows beyond (World: 65530 ids in a 65536-row model).
   */
  fits(modelVocab: number): boolean {
    return this.info.vocabSize <= modelVocab && modelVocab - this.info.vocabSize < 64;
  }
}
