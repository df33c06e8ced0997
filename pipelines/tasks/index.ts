// The task heads: what runs on a document's final state.
import type { ClassificationOutput, SummaryOutput } from '../../schemas/results.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import type { Engine, RnnState } from '../../services/engine/index.ts';
import { classify } from './classify.ts';
import { summarize } from './summarize.ts';

export { classify } from './classify.ts';
export { scoreEvents, type EventSurprise } from './anomaly.ts';
export { summarize, END_OF_TEXT } from './summarize.ts';

/** Runs the document's task on its final state (`state` may be advanced: pass a copy to keep it). */
export async function runTask(
  engine: Engine,
  state: RnnState,
  task: DocumentTask,
): Promise<{ summary: SummaryOutput } | { classification: ClassificationOutput }> {
  switch (task.kind) {
    case 'summarize':
      return { summary: await summarize(engine, state, task) };
    case 'classify':
      return { classification: await classify(engine, state, task) };
  }
}
