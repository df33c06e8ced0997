// The reduce step: a document's answer built from its sections' answers.
//
// Summaries: groups of fanIn consecutive summaries go, in order, into a fresh state as
//   prompt + entry(1) + entry(2) + … + reduce template
// and a summary is generated after them with the document task's sampling options and maxTokens. While more than
// fanIn texts remain, each group becomes one new text and the next level reduces those; the last level is one
// group, whose summary is the document's. A fresh state per group keeps every group's summary independent of the
// order groups run in, so the answer depends only on the sections.
//
// Classifications: the token-weighted mean of the sections' label probabilities (see aggregateClassifications).
import type { ClassificationOutput, SummaryOutput } from '../schemas/results.ts';
import type { ClassifyTask, ReduceSettings, SummarizeTask } from '../schemas/tasks.ts';
import type { Engine } from '../engine/index.ts';
import { permanent } from './errors.ts';
import { foldTurnText } from '../schemas/prompt-formats.ts';
import { summarize, type TextListener } from './tasks/index.ts';

export interface ReducedSummary {
  summary: SummaryOutput;
  /** Reduce rounds that ran. */
  levels: number;
}

/**
 * The text fed for one group: the prompt, then each summary through the entry pattern. In a chat format
 * (`fold`) the summaries are inside the user's turn, so they are folded like the document.
 */
export function groupPrompt(texts: readonly string[], reduce: ReduceSettings, fold = false): string {
  // One pass, so a summary that itself contains "{n}" or "{text}" is copied as it is.
  const entries = texts.map((text, i) =>
    reduce.entry.replace(/\{(n|text)\}/g, (_, name: string) =>
      name === 'n' ? String(i + 1) : fold ? foldTurnText(text) : text,
    ),
  );
  return reduce.prompt + entries.join('');
}

/** Reduces section summaries (in order, at least one) to the document's summary; its text goes to `onText` as it is made. */
export async function reduceSummaries(
  engine: Engine,
  texts: readonly string[],
  task: SummarizeTask,
  reduce: ReduceSettings,
  onText?: TextListener,
): Promise<ReducedSummary> {
  if (texts.length === 0)
    throw permanent('E_REDUCE_EMPTY', 'reducing summaries needs at least one section summary; got none');
  let current = [...texts];
  let levels = 0;
  for (;;) {
    const outputs: SummaryOutput[] = [];
    for (let at = 0; at < current.length; at += reduce.fanIn) {
      const group = current.slice(at, at + reduce.fanIn);
      // The whole group is the template of a generation from the zero state: one forward, then the generation.
      const template = groupPrompt(group, reduce, task.promptFormat !== 'raw') + reduce.template;
      // Only the last level's one group makes the document's text.
      const last = current.length <= reduce.fanIn;
      outputs.push(await summarize(engine, engine.model.newState(), { ...task, template }, last ? onText : undefined));
    }
    levels++;
    if (outputs.length === 1) return { summary: outputs[0]!, levels };
    current = outputs.map((o) => o.text);
  }
}

export interface WeightedClassification {
  /** Tokens the section covers: its weight. */
  tokens: number;
  classification: ClassificationOutput;
}

/**
 * The document's distribution over the labels: each label's probability is the mean of the sections'
 * probabilities weighted by section length in tokens, so a long section counts for more than a short one.
 * To keep the shape of ClassificationOutputSchema, `probability` is that aggregate, `logprob` its natural log
 * (not a sum over the label's tokens: no single state scored the label), `tokens` the label's token count as the
 * sections report it; `best` is the most probable label (the first of equals).
 */
export function aggregateClassifications(
  sections: readonly WeightedClassification[],
  task: ClassifyTask,
): ClassificationOutput {
  const total = sections.reduce((n, s) => n + s.tokens, 0);
  if (sections.length === 0 || total <= 0)
    throw permanent('E_REDUCE_EMPTY', 'aggregating classifications needs at least one section with tokens');
  const labels = task.labels.map((label) => {
    let probability = 0;
    let tokens = 0;
    for (const s of sections) {
      const score = s.classification.labels.find((l) => l.label === label);
      if (!score)
        throw permanent(
          'E_SECTION_LABELS',
          `a section result has no score for the label "${label}"; expected every label of the task`,
        );
      probability += (score.probability * s.tokens) / total;
      tokens = score.tokens;
    }
    // Rounding can take a sum of weights a hair past 1.
    probability = Math.min(1, probability);
    // A probability that underflowed to 0 still gets a finite logprob (JSON has no -Infinity).
    return { label, logprob: Math.log(Math.max(probability, Number.MIN_VALUE)), tokens, probability };
  });
  const best = labels.reduce((a, b) => (b.probability > a.probability ? b : a));
  return { score: task.score, labels, best: best.label };
}
