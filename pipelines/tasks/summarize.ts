// summarize: after the document (already in the state) comes the template, then generation until a stop
// sequence, the end-of-text token or the token limit.
import type { SummarizeTask } from '../../schemas/tasks.ts';
import type { SummaryOutput } from '../../schemas/results.ts';
import type { Engine, RnnState } from '../../services/engine/index.ts';
import { Sampler } from '../sampling.ts';

/** Token 0 ends a text in RWKV vocabularies (World: <|endoftext|>; byte-level models: NUL). */
export const END_OF_TEXT = 0;

/** Generates from `state` (advanced in place: pass a clone to keep the original). */
export async function summarize(engine: Engine, state: RnnState, task: SummarizeTask): Promise<SummaryOutput> {
  const { model, tokenizer } = engine;
  const sampler = new Sampler(task, (token) => tokenizer.decode([token]));
  const stops = task.stop.map((s) => Buffer.from(s, 'utf8'));
  const longestStop = Math.max(0, ...stops.map((s) => s.length));

  let logits = await model.forward(tokenizer.encodeSync(task.template), state, 'last');
  let text = Buffer.alloc(0);
  let generatedTokens = 0;
  let stopReason: SummaryOutput['stopReason'] = 'max_tokens';
  while (generatedTokens < task.maxTokens && logits) {
    const token = sampler.pick(logits);
    generatedTokens++;
    if (token === END_OF_TEXT) {
      stopReason = 'end_of_text';
      break;
    }
    // A stop sequence may straddle tokens, so search from just before the new bytes.
    const searchFrom = Math.max(0, text.length - longestStop + 1);
    text = Buffer.concat([text, tokenizer.decodeBytes([token])]);
    const cut = firstStop(text, stops, searchFrom);
    if (cut >= 0) {
      text = text.subarray(0, cut);
      stopReason = 'stop';
      break;
    }
    sampler.accept(token);
    if (generatedTokens < task.maxTokens) logits = await model.forward([token], state, 'last');
  }
  return { text: text.toString('utf8'), generatedTokens, stopReason };
}

function firstStop(text: Buffer, stops: Buffer[], from: number): number {
  let first = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop, from);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}
