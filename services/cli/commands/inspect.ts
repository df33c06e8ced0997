// `rwkvstream inspect MODEL`: the model's version and dimensions, read from the file.
import type { Command } from 'commander';

import type { ModelInfo } from '../../../schemas/engine.ts';
import { Model } from '../../engine/index.ts';
import { addEngineFlags, engineOptions, type EngineFlags } from '../engine-options.ts';
import { printJson } from '../output.ts';

/** One number per rank when every layer agrees (layer 0 has no value residual), else the per-layer list. */
function rankSummary(info: ModelInfo): Record<'w' | 'a' | 'v' | 'g', number | number[]> {
  const pick = (key: 'w' | 'a' | 'v' | 'g') => {
    const values = info.ranks.map((r) => r[key]).filter((_, layer) => !(key === 'v' && layer === 0));
    return values.every((v) => v === values[0]) ? (values[0] ?? 0) : info.ranks.map((r) => r[key]);
  };
  return { w: pick('w'), a: pick('a'), v: pick('v'), g: pick('g') };
}

export function inspectCommand(program: Command): void {
  addEngineFlags(program.command('inspect').argument('<model>', 'model file (.pth, .safetensors, rwkv.cpp .bin)'))
    .description('print the model version and dimensions as JSON')
    .action(async (model: string, flags: EngineFlags) => {
      const loaded = await Model.load(engineOptions(model, flags));
      const info = loaded.info;
      loaded.dispose();
      printJson({
        version: info.version,
        n_layer: info.nLayer,
        n_embd: info.nEmbd,
        n_head: info.nHead,
        head_size: info.headSize,
        vocab_size: info.vocabSize,
        ffn: info.ffn,
        ranks: rankSummary(info),
        dtype: info.fileDtype,
      });
    });
}
