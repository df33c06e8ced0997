// Per-document caps on the work a message can ask for: how many sections a document is cut into and how many
// tokens its answers generate in all. A task that asks for more than the cap in one answer is refused at
// ingest; the totals depend on the document's length, so they are checked while it is tokenized (as soon as
// the count passes the cap, before more is stored).
import type { DocumentTask } from '../schemas/tasks.ts';
import type { DocumentLimits } from '../schemas/config.ts';
import { permanent } from './errors.ts';
import { sectionCount } from './sections.ts';

/** The most tokens one answer of the task generates (a summary, a section's summary, a reduce step). */
export function answerTokens(task: DocumentTask): number {
  if (task.kind !== 'summarize') return 0;
  return Math.max(task.maxTokens, task.sections?.maxTokens ?? 0);
}

/** Summaries made by reducing `n` section summaries `fanIn` at a time, level by level (as reduce.ts does). */
function reduceSteps(n: number, fanIn: number): number {
  let steps = 0;
  let current = n;
  do {
    current = Math.ceil(current / fanIn);
    steps += current;
  } while (current > 1);
  return steps;
}

/** The most tokens a document of `tokens` tokens generates under the task, all answers together. */
export function generatedTokens(task: DocumentTask, tokens: number): number {
  if (task.kind !== 'summarize') return 0;
  const sections = task.sections;
  if (!sections) return task.maxTokens;
  const count = sectionCount(Math.max(1, tokens), sections.every);
  let total = count * sections.maxTokens;
  if (sections.final !== 'state') total += reduceSteps(count, sections.reduce.fanIn) * task.maxTokens;
  if (sections.final !== 'sections') total += task.maxTokens;
  return total;
}

/** At ingest: one answer alone must fit the cap on generated tokens. */
export function checkTaskLimits(task: DocumentTask, limits: DocumentLimits): void {
  const one = answerTokens(task);
  if (one > limits.maxGeneratedTokens) {
    throw permanent(
      'E_TOO_MANY_GENERATED_TOKENS',
      `the task asks for ${one} generated tokens in one answer; ` +
        `at most ${limits.maxGeneratedTokens} per document are allowed (limits.maxGeneratedTokens)`,
    );
  }
}

/** While tokenizing: the sections and generated tokens a document of `tokens` tokens (so far) needs. */
export function checkPlannedLimits(doc: string, task: DocumentTask, tokens: number, limits: DocumentLimits): void {
  if (tokens < 1) return;
  if (task.sections) {
    const sections = sectionCount(tokens, task.sections.every);
    if (sections > limits.maxSections) {
      throw permanent(
        'E_TOO_MANY_SECTIONS',
        `document ${doc} would have more than ${limits.maxSections} sections ` +
          `(limits.maxSections) of ${task.sections.every} tokens (refused after reading ${tokens} tokens)`,
      );
    }
  }
  const generated = generatedTokens(task, tokens);
  if (generated > limits.maxGeneratedTokens) {
    throw permanent(
      'E_TOO_MANY_GENERATED_TOKENS',
      `document ${doc} would generate up to ${generated} tokens; ` +
        `at most ${limits.maxGeneratedTokens} are allowed (limits.maxGeneratedTokens)`,
    );
  }
}
