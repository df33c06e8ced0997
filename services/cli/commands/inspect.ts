// `rwkvstream inspect MODEL`: the model's version and dimensions, read from the file. The fields depend on the
// version (README, "Models"): every version has version, n_layer, n_embd, vocab_size, ffn and dtype; all but
// v4 have n_head and head_size (v4's recurrence is per channel); x070 adds its four LoRA widths (ranks w, a,
// v, g) and x060 its two (ranks decay, mix). Only the header and parameter table are read (inspectModel): a
// multi-gigabyte model answers at once, and a damaged one is refused with the code a load would give.
import type { Command } from 'commander';

import type { ModelInfo } from '../../../schemas/engine.ts';
import { addEngineFlags } from '../command-flags.ts';
import type { EngineFlags } from '../engine-options.ts';
import { printJson } from '../output.ts';

type RankKey = 'w' | 'a' | 'v' | 'g' | 'mix';

/** The fields a loaded model's info and an inspected file's share. */
type Described = Pick<
  ModelInfo,
  'version' | 'nLayer' | 'nEmbd' | 'nHead' | 'headSize' | 'vocabSize' | 'ffn' | 'ranks' | 'fileDtype'
>;

/** One number when every layer agrees (x070's layer 0 has no value residual), else the per-layer list. */
function rank(info: Described, key: RankKey): number | number[] {
  const all = info.ranks.map((r) => r[key] ?? 0);
  const values = all.filter((_, layer) => !(key === 'v' && layer === 0));
  return values.every((v) => v === values[0]) ? (values[0] ?? 0) : all;
}

export function describeModel(info: Described): Record<string, unknown> {
  const heads = info.version === 'v4' ? {} : { n_head: info.nHead, head_size: info.headSize };
  const ranks =
    info.version === 'x070' || info.version === 'x070-7a'
      ? { ranks: { w: rank(info, 'w'), a: rank(info, 'a'), v: rank(info, 'v'), g: rank(info, 'g') } }
      : info.version === 'x060'
        ? { ranks: { decay: rank(info, 'w'), mix: rank(info, 'mix') } }
        : {};
  return {
    version: info.version,
    n_layer: info.nLayer,
    n_embd: info.nEmbd,
    ...heads,
    vocab_size: info.vocabSize,
    ffn: info.ffn,
    ...ranks,
    dtype: info.fileDtype,
  };
}

export function inspectCommand(program: Command): void {
  addEngineFlags(program.command('inspect').argument('<model>', 'model file (.pth, .safetensors, rwkv.cpp .bin)'))
    .description('print the model version and dimensions as JSON')
    // The engine flags are accepted as every model command takes them; a file's description does not depend on them.
    .action(async (model: string, _flags: EngineFlags) => {
      const { inspectModel } = await import('../../../engine/index.ts');
      printJson(describeModel(await inspectModel(model)));
    });
}
