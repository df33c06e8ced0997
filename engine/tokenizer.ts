// Tokenizers: RWKV World (vocab file) and bytes (id = byte value) on the native implementation; Hugging Face
// tokenizers JSON files — the GPT-NeoX 20B tokenizer of the RWKV-4 Pile models, by name "20b" — in JS.
import { TokenizerInfoSchema, type TokenizerInfo } from '../schemas/engine.ts';
import { EngineError, engineCall } from './errors.ts';
import { loadHfTokenizer, type HfTokenizerData } from './hf-tokenizer.ts';
import { native, type NativeTokenizer } from './native.ts';
import { isNamedTokenizer, NEOX_20B } from './neox-20b.ts';

/** Text goes in as UTF-8; raw bytes (any, including invalid UTF-8) pass through unchanged. */
function toBytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

function toText(input: string | Uint8Array): string {
  return typeof input === 'string'
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
}

/** What every tokenizer kind provides. */
interface Backend {
  info(): unknown;
  encode(input: string | Uint8Array): Promise<Int32Array>;
  encodeSync(input: string | Uint8Array): Int32Array;
  decode(ids: Int32Array): Buffer;
}

function nativeBackend(t: NativeTokenizer): Backend {
  return {
    info: () => t.info(),
    encode: (input) => t.encode(toBytes(input)),
    encodeSync: (input) => t.encodeSync(toBytes(input)),
    decode: (ids) => t.decode(ids),
  };
}

function hfBackend(t: HfTokenizerData): Backend {
  return {
    info: () => ({ kind: 'hf', vocabSize: t.vocabSize, fingerprint: t.fingerprint }),
    encode: async (input) => t.encode(toText(input)),
    encodeSync: (input) => t.encode(toText(input)),
    decode: (ids) => t.decodeBytes(ids),
  };
}

export class Tokenizer {
  readonly info: TokenizerInfo;
  readonly #backend: Backend;

  private constructor(backend: Backend) {
    this.#backend = backend;
    this.info = TokenizerInfoSchema.parse(backend.info());
  }

  static async world(vocabPath: string): Promise<Tokenizer> {
    return new Tokenizer(nativeBackend(await engineCall(() => native().loadWorldTokenizer(vocabPath))));
  }

  static bytes(): Tokenizer {
    return new Tokenizer(nativeBackend(native().byteTokenizer()));
  }

  /** A Hugging Face tokenizers JSON file (tokenizer.json, 20B_tokenizer.json). */
  static async huggingFace(file: string): Promise<Tokenizer> {
    return new Tokenizer(hfBackend(await loadHfTokenizer(file)));
  }

  /** The GPT-NeoX 20B tokenizer of the RWKV-4 Pile models, from its file (20B_tokenizer.json). */
  static async neox20b(file: string): Promise<Tokenizer> {
    const tokenizer = await Tokenizer.huggingFace(file);
    if (tokenizer.info.vocabSize !== NEOX_20B.vocabSize) {
      throw new EngineError(
        'E_TOKENIZER',
        `${file} has ${tokenizer.info.vocabSize} ids, not the ${NEOX_20B.vocabSize} of the 20B tokenizer (${NEOX_20B.file})`,
      );
    }
    return tokenizer;
  }

  /**
   * "bytes", a tokenizers .json file, or a World vocab file. The name "20b" is not a file: the models cache
   * of the caller turns it into the path of the 20B tokenizer first.
   */
  static async load(spec: string): Promise<Tokenizer> {
    if (spec === 'bytes') return Tokenizer.bytes();
    if (isNamedTokenizer(spec)) {
      throw new EngineError(
        'E_TOKENIZER',
        `"${spec}" names the 20B tokenizer; give its file (${NEOX_20B.file}), which the models cache resolves the name to`,
      );
    }
    if (spec.toLowerCase().endsWith('.json')) return Tokenizer.huggingFace(spec);
    return Tokenizer.world(spec);
  }

  /** Encodes off the event loop (documents of many megabytes) where the tokenizer is native. */
  async encode(input: string | Uint8Array): Promise<Int32Array> {
    return engineCall(() => this.#backend.encode(input));
  }

  /** Encodes on the calling thread: for short prompts and labels. */
  encodeSync(input: string | Uint8Array): Int32Array {
    try {
      return this.#backend.encodeSync(input);
    } catch (err) {
      throw EngineError.from(err);
    }
  }

  decodeBytes(ids: ArrayLike<number>): Buffer {
    try {
      return this.#backend.decode(Int32Array.from(ids));
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
