// classify: the log-probability of each label's text after the template, read from a fork of the document's
// final state, turned into a distribution over the labels.
import type { ClassificationOutput } from '../../schemas/results.ts';
import type { ClassifyTask } from '../../schemas/tasks.ts';
import type { Engine, RnnState, StreamInput } from '../../engine/index.ts';
import { logSumExp, softmax, tokenLogProb } from './logprob.ts';

/** Scores every label; `state` is not changed. */
export async function classify(engine: Engine, state: RnnState, task: ClassifyTask): Promise<ClassificationOutput> {
  const { model, tokenizer } = engine;
  const vocab = model.info.vocabSize;
  const afterTemplate = state.clone();
  const first = await model.forward(tokenizer.encodeSync(task.template), afterTemplate, 'last');
  if (!first) throw new Error('the engine returned no logits for the template');
  const firstNorm = logSumExp(first);

  const labels = task.labels.map((label) => tokenizer.encodeSync(task.labelPrefix + label));
  // The first token of each label is predicted by the template's last position; the rest by the label's own
  // earlier tokens, all labels in one batched call, each from its own copy of the state.
  const longer = labels.map((ids, i) => ({ ids, i })).filter(({ ids }) => ids.length > 1);
  const streams: StreamInput[] = longer.map(({ ids }) => ({
    tokens: ids.subarray(0, -1),
    state: afterTemplate.clone(),
    logits: 'all',
  }));
  const rows = streams.length > 0 ? await model.forwardBatch(streams) : [];
  const rest = new Map(longer.map(({ i }, k) => [i, rows[k]] as const));

  const scored = labels.map((ids, i) => {
    let logprob = first[ids[0]!]! - firstNorm;
    const all = rest.get(i);
    for (let j = 1; j < ids.length; j++) {
      if (!all) throw new Error('the engine returned no logits for a label');
      logprob += tokenLogProb(all, ids[j]!, (j - 1) * vocab, vocab);
    }
    return { label: task.labels[i]!, logprob, tokens: ids.length };
  });
  const probabilities = softmax(scored.map((s) => (task.score === 'mean' ? s.logprob / s.tokens : s.logprob)));
  const out = scored.map((s, i) => ({ ...s, probability: probabilities[i]! }));
  const best = out.reduce((a, b) => (b.probability > a.probability ? b : a));
  return { score: task.score, labels: out, best: best.label };
}
