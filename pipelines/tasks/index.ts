// The task heads: what runs on a document's final state.
import type { ClassificationOutput, SummaryOutput } from '../../schemas/results.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import type { Engine, RnnState } from '../../engine/index.ts';
import { classify } from './classify.ts';
import { summarize, type TextListener } from './summarize.ts';

export { classify } from './classify.ts';
export { scoreEvents, type EventSurprise } from './anomaly.ts';
export { summarize, END_OF_TEXT, type TextListener } from './summarize.ts';

/**
 * Runs the document's task on its final state (`state` may be advanced: pass a copy to keep it). A summary's
 * text goes to `onText` as it is generated.
 */
export async function runTask(
  engine: Engine,
  state: RnnState,
  task: DocumentTask,
  onText?: TextListener,
): Promise<{ summary: SummaryOutput } | { classification: ClassificationOutput }> {
  switch (task.kind) {
    case 'summarize':
      return { summary: await summarize(engine, state, task, onText) };
    case 'classify':
      return { classification: await classify(engine, state, task) };
  }
}
