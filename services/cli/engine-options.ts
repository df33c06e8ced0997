// The engine flags shared by every command that loads a model.
import type { Command } from 'commander';

import { EngineOptionsSchema, type EngineOptions } from '../../schemas/engine.ts';
import { inspectModel, isNamedTokenizer, NEOX_20B } from '../../engine/index.ts';
import { loadConfig } from '../config/index.ts';
import { neox20bFile } from '../models/neox-20b.ts';
import { UsageError } from './output.ts';

export interface EngineFlags {
  vocab?: string;
  weights?: string;
  threads?: string;
  device?: string;
}

export function addEngineFlags(cmd: Command): Command {
  return cmd
    .option('--vocab <file>', 'World vocabulary file, "bytes", "20b" or a tokenizers .json (default: bytes for 256-id models, 20b for 50277-id models)')
    .option('--weights <type>', 'weights in memory: f32, bf16, f16 or int8', 'f32')
    .option('--threads <n>', 'CPU threads (0: all)', '0')
    .option('--device <name>', 'cpu, cuda or auto', 'cpu');
}

export function engineOptions(model: string, flags: EngineFlags): EngineOptions {
  const parsed = EngineOptionsSchema.safeParse({
    model,
    vocab: flags.vocab,
    weights: flags.weights,
    threads: flags.threads === undefined ? undefined : Number(flags.threads),
    device: flags.device,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`--${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The tokenizer a command without settings of its own (tokenize, logits) hands the engine: the one given, with
 * the name "20b" — or, given none, a 50277-id model's need — resolved to the 20B tokenizer's file in the models
 * cache (home and offline from the configuration). `model` omitted: only the name is resolved.
 */
export async function commandVocab(vocab: string | undefined, model?: string): Promise<string | undefined> {
  const named = vocab !== undefined && isNamedTokenizer(vocab);
  if (!named) {
    if (vocab !== undefined || model === undefined) return vocab;
    if ((await inspectModel(model)).vocabSize !== NEOX_20B.vocabSize) return undefined;
  }
  const { config } = await loadConfig();
  return (await neox20bFile(config)).path;
}
