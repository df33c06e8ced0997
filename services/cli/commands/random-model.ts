// `rwkvstream random-model --out FILE`: a random RWKV-7 model of a real shape (default: the official 0.1B
// shape) as safetensors, for benchmarks and load tests at real sizes without downloading weights.
import type { Command } from 'commander';

import { UsageError } from '../output.ts';

const SHAPES = {
  '0.1b': { layers: 12, embd: 768, ffn: 3072, rankW: 64, rankA: 64, rankV: 32, rankG: 128 },
  '0.4b': { layers: 24, embd: 1024, ffn: 4096, rankW: 64, rankA: 64, rankV: 32, rankG: 160 },
  '1.5b': { layers: 24, embd: 2048, ffn: 8192, rankW: 96, rankA: 96, rankV: 64, rankG: 256 },
  '7.2b': { layers: 32, embd: 4096, ffn: 16384, rankW: 128, rankA: 128, rankV: 96, rankG: 480 },
} as const;

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return n;
}

export function randomModelCommand(program: Command): void {
  program
    .command('random-model')
    .description('write a random RWKV-7 model of a real shape as safetensors (for benchmarks)')
    .requiredOption('--out <file>', 'output .safetensors file')
    .option('--shape <name>', `one of ${Object.keys(SHAPES).join(', ')}`, '0.1b')
    .option('--layers <n>', 'override the number of layers')
    .option('--vocab <n>', 'vocabulary size', '65536')
    .option('--seed <n>', 'random seed', '1')
    .action(async (flags: { out: string; shape: string; layers?: string; vocab: string; seed: string }) => {
      const shape = SHAPES[flags.shape as keyof typeof SHAPES];
      if (!shape)
        throw new UsageError(`--shape must be one of ${Object.keys(SHAPES).join(', ')}, got "${flags.shape}"`);
      const { engineCall } = await import('../../../engine/errors.ts');
      const { native } = await import('../../../engine/native.ts');
      await engineCall(() =>
        native().writeRandomModel(
          flags.out,
          {
            ...shape,
            headSize: 64,
            vocab: positiveInt(flags.vocab, '--vocab'),
            ...(flags.layers ? { layers: positiveInt(flags.layers, '--layers') } : {}),
          },
          positiveInt(flags.seed, '--seed'),
        ),
      );
      process.stderr.write(`wrote ${flags.out}\n`);
    });
}
