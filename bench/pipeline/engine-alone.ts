// The baseline: the engine alone on the same tokens and model, chunk after chunk from the zero state with the
// state kept in memory, as the pipeline's chunks run — no queue, no checkpoints. Runs in its own process (so
// its memory and CPU are its own) and prints one JSON line.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { Engine } from '../../engine/index.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    vocab: { type: 'string' },
    file: { type: 'string' },
    'chunk-tokens': { type: 'string', default: '4096' },
    threads: { type: 'string', default: '0' },
  },
});

const engine = await Engine.load({
  model: values.model!,
  ...(values.vocab ? { vocab: values.vocab } : {}),
  threads: Number(values.threads),
});
const tokens = await engine.tokenizer.encode(await readFile(values.file!));
const chunk = Number(values['chunk-tokens']);
const state = engine.model.newState();
const started = performance.now();
for (let at = 0; at < tokens.length; at += chunk) {
  await engine.model.forward(tokens.subarray(at, at + chunk), state, 'none');
  if (process.stderr.isTTY || (at / chunk) % 25 === 0)
    process.stderr.write(`\rengine alone: ${Math.min(at + chunk, tokens.length)}/${tokens.length} tokens`);
}
const seconds = (performance.now() - started) / 1000;
process.stderr.write('\n');
process.stdout.write(
  `${JSON.stringify({ tokens: tokens.length, seconds, tokensPerSecond: tokens.length / seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
);
engine.dispose();
