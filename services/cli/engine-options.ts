// Reading the engine flags (services/cli/command-flags.ts) shared by every command that loads a model.
import { EngineOptionsSchema, type EngineOptions } from '../../schemas/engine.ts';
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
