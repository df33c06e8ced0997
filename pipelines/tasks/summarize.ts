// summarize: after the document (already in the state) comes the template, then generation until a stop
// sequence, the end-of-text token or the token limit.
import type { SummarizeTask } from '../../schemas/tasks.ts';
import type { SummaryOutput } from '../../schemas/results.ts';
import type { Engine, ResidentState, RnnState } from '../../services/engine/index.ts';
import { Sampler } from '../sampling.ts';

/** Token 0 ends a text in RWKV vocabularies (World: <|endoftext|>; byte-level models: NUL). */
export const END_OF_TEXT = 0;

/**
 * Generates from `state` (advanced in place: pass a clone to keep the original). The state stays resident
 * where the model computes (in GPU memory under CUDA) for the whole generation, so each step moves one token
 * in and the logits out, and it is copied back once at the end; on the CPU the result is bit-identical to
 * running the steps on the host state.
 */
export async function summarize(engine: Engine, state: RnnState, task: SummarizeTask): Promise<SummaryOutput> {
  const { model } = engine;
  const resident = model.resident(state);
  try {
    const output = await generate(engine, resident, task);
    resident.copyTo(state);
    return output;
  } finally {
    resident.release();
  }
}

async function generate(engine: Engine, state: ResidentState, task: SummarizeTask): Promise<SummaryOutput> {
  const { model, tokenizer } = engine;
  const step = async (tokens: ArrayLike<number>) => (await model.forwardResident([{ tokens, state, logits: 'last' }]))[0] ?? null;
  const sampler = new Sampler(task, (token) => tokenizer.decode([token]));
  const stops = task.stop.map((s) => Buffer.from(s, 'utf8'));
  const longestStop = Math.max(0, ...stops.map((s) => s.length));

  let logits = await step(tokenizer.encodeSync(task.template));
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
    if (generatedTokens < task.maxTokens) logits = await step([token]);
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
