// An engine is a model with the tokenizer that belongs to it. Pipelines work with text, so they hold an
// Engine; states it writes carry both fingerprints and are refused by an engine with another model or tokenizer.
import { CapabilitiesSchema, EngineOptionsSchema, type Capabilities, type EngineOptions } from '../schemas/engine.ts';
import { EngineError } from './errors.ts';
import { Model } from './model.ts';
import { native } from './native.ts';
import { NEOX_20B } from './neox-20b.ts';
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
   * Loads a model and its tokenizer: the one given by `vocab` (a World vocabulary file, "bytes" or a
   * tokenizers .json such as the 20B tokenizer's file), else bytes for a 256-id model. A tokenizer that does
   * not fit the model's vocabulary is refused. Finding a tokenizer file (the models cache, downloads) is the
   * caller's: the models cache resolves the vocabulary from the model's size (inspectModel) before this.
   * With `initialState` (a state-tuning file) every new state starts from the state it holds.
   */
  static async load(options: EngineOptions): Promise<Engine> {
    const opts = EngineOptionsSchema.parse(options);
    const model = await Model.load(opts);
    try {
      const vocab = model.info.vocabSize;
      const implied = vocab === 256 ? 'bytes' : undefined;
      if (opts.vocab === undefined && implied === undefined) {
        const which =
          vocab === NEOX_20B.vocabSize
            ? `the GPT-NeoX 20B tokenizer ${NEOX_20B.file} (--vocab 20b) for RWKV-4 Pile models`
            : 'the RWKV World vocabulary rwkv_vocab_v20230424.txt for World/G1 models';
        throw new EngineError(
          'E_TOKENIZER_MISMATCH',
          `the model has a vocabulary of ${vocab} ids; give its tokenizer with --vocab (${which})`,
        );
      }
      const tokenizer = await Tokenizer.load(opts.vocab ?? implied!);
      if (!tokenizer.fits(vocab)) {
        throw new EngineError(
          'E_TOKENIZER_MISMATCH',
          `tokenizer (${tokenizer.info.kind}, ${tokenizer.info.vocabSize} ids) does not fit the model's vocabulary of ` +
            `${vocab} ids: expected a tokenizer with between ${Math.max(1, vocab - 63)} and ${vocab} ids`,
        );
      }
      if (opts.initialState !== undefined) await model.useStateTuning(opts.initialState);
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
