// Reading the engine flags (services/cli/command-flags.ts) shared by every command that loads a model.
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
