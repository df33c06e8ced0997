// `rwkvstream logits MODEL --tokens 1,2,3 [--one-by-one] [--state-in F | --tuned-state F] [--state-out F]`: the
// last position's logits as JSON; --state-out writes the raw float32 little-endian state in the official layout
// of the model's version (README, "Models").
import { readFile, writeFile } from 'node:fs/promises';

import type { Command } from 'commander';

import type { RnnState } from '../../../engine/index.ts';
import { addEngineFlags } from '../command-flags.ts';
import type { EngineFlags } from '../engine-options.ts';
import { parseIdList, printJson, UsageError } from '../output.ts';

interface LogitsFlags extends EngineFlags {
  tokens?: string;
  text?: string;
  oneByOne?: boolean;
  stateIn?: string;
  tunedState?: string;
  stateOut?: string;
}

export function logitsCommand(program: Command): void {
  addEngineFlags(program.command('logits').argument('<model>', 'model file'))
    .description("run tokens through the model and print the last position's logits as JSON")
    .option('--tokens <ids>', 'comma-separated token ids')
    .option('--text <text>', 'text to tokenize instead of --tokens')
    .option('--one-by-one', 'feed the tokens one at a time (one-token mode) instead of as one sequence')
    .option('--state-in <file>', 'start from a raw float32 state file instead of the initial state')
    .option(
      '--tuned-state <file>',
      'start from a state-tuning file (.pth or .safetensors with blocks.N.att.time_state)',
    )
    .option('--state-out <file>', "write the final raw float32 state (the version's official layout) to this file")
    .action(async (model: string, flags: LogitsFlags) => {
      const { Engine, Model } = await import('../../../engine/index.ts');
      const { commandVocab, engineOptions } = await import('../engine-options.ts');
      // Token ids need no tokenizer; --text loads the one that belongs to the model.
      const engine =
        flags.text !== undefined
          ? await Engine.load(engineOptions(model, { ...flags, vocab: await commandVocab(flags.vocab, model) }))
          : undefined;
      const loaded = engine?.model ?? (await Model.load(engineOptions(model, flags)));
      try {
        let tokens: number[];
        if (flags.tokens !== undefined) tokens = parseIdList(flags.tokens, '--tokens');
        else if (engine && flags.text !== undefined) tokens = Array.from(engine.tokenizer.encodeSync(flags.text));
        else throw new UsageError('give --tokens or --text');
        if (flags.stateIn && flags.tunedState) throw new UsageError('give --state-in or --tuned-state, not both');
        const state = flags.stateIn
          ? await readRawState(flags.stateIn, loaded.info.stateFloats)
          : flags.tunedState
            ? await loaded.stateFromTuningFile(flags.tunedState)
            : loaded.newState();
        let logits: Float32Array | null = null;
        if (flags.oneByOne) {
          for (const t of tokens) logits = await loaded.forward([t], state, 'last');
        } else {
          logits = await loaded.forward(tokens, state, 'last');
        }
        if (flags.stateOut) await writeFile(flags.stateOut, state.rawBytes());
        printJson({ logits: Array.from(logits ?? []) });
      } finally {
        loaded.dispose();
      }
    });
}

async function readRawState(file: string, floats: number): Promise<RnnState> {
  const bytes = await readFile(file);
  if (bytes.length !== floats * 4) {
    throw new UsageError(
      `${file} has ${bytes.length} bytes; this model's raw state is ${floats} float32 values (${floats * 4} bytes)`,
    );
  }
  const { RnnState } = await import('../../../engine/index.ts');
  const data = new Float32Array(floats);
  Buffer.from(data.buffer).set(bytes);
  return new RnnState(data);
}
