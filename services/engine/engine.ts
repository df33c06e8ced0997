// An engine is a model with the tokenizer that belongs to it. Pipelines work with text, so they hold an
// Engine; states it writes carry both fingerprints and are refused by an engine with another model or tokenizer.
import { CapabilitiesSchema, EngineOptionsSchema, type Capabilities, type EngineOptions } from '../../schemas/engine.ts';
import { EngineError } from './errors.ts';
import { Model } from './model.ts';
import { native } from './native.ts';
import type { RnnState } from './state.ts';
import { Tokenizer } from './tokenizer.ts';

export function capabilities(): Capabilities {
  return CapabilitiesSchema.parse(native().capabilities());
}

export class Engine {
  private constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
  ) {}

  /**
   * Loads a model and its tokenizer: the World vocabulary named by `vocab`, or the byte tokenizer for
   * byte-level (256-id) models. A tokenizer that does not fit the model's vocabulary is refused.
   */
  static async load(options: EngineOptions): Promise<Engine> {
    const opts = EngineOptionsSchema.parse(options);
    const model = await Model.load(opts);
    try {
      const vocab = model.info.vocabSize;
      if (opts.vocab === undefined && vocab !== 256) {
        throw new EngineError('E_TOKENIZER_MISMATCH',
          `the model has a vocabulary of ${vocab} ids; give its tokenizer with --vocab (the RWKV World vocabulary ` +
            'rwkv_vocab_v20230424.txt for World/G1 models)');
      }
      const tokenizer = await Tokenizer.load(opts.vocab ?? 'bytes');
      if (!tokenizer.fits(vocab)) {
        throw new EngineError('E_TOKENIZER_MISMATCH',
          `tokenizer (${tokenizer.info.kind}, ${tokenizer.info.vocabSize} ids) does not fit the model's vocabulary of ` +
            `${vocab} ids: expected a tokenizer with between ${Math.max(1, vocab - 63)} and ${vocab} ids`);
      }
      return new Engine(model, tokenizer);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  stateToBuffer(state: RnnState): Buffer {
    return this.model.stateToBuffer(state, this.tokenizer.info.fingerprint);
  }

  stateFromBuffer(blob: Uint8Array): RnnState {
    return this.model.stateFromBuffer(blob, this.tokenizer.info.fingerprint);
  }

  dispose(): void {
    this.model.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
