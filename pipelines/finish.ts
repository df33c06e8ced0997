// The end of a document: the task head runs on the final state, the result is stored (first one wins) and
// published, then the document's tokens and state are freed. Every step can be redone after a crash: the
// stored result is what gets published, and publishing is marked once done.
import type { FinishJob } from '../schemas/jobs.ts';
import type { PipelineDeps } from './context.ts';
import { checkTokenizer, documentKey } from './document-chunk.ts';
import { permanent } from './errors.ts';
import type { JobContext } from './ports.ts';
import { documentResult, provenance } from './results.ts';
import { runTask } from './tasks/index.ts';

export type FinishOutcome = 'finished' | 'republished' | 'skipped';

export async function finishDocument(job: FinishJob, deps: PipelineDeps, ctx: JobContext): Promise<FinishOutcome> {
  const planned = await deps.documents.get(job.doc);
  if (!planned) return 'skipped';
  const key = documentKey(job.doc);
  if (planned.status !== 'running') {
    // A redone finish after the status was set: make sure the result went out and the state is gone.
    await deps.states.drop(key);
    deps.checkpoints.forget(key);
    const stored = planned.status === 'done' ? await deps.results.getDocument(job.doc) : null;
    if (!stored || stored.published) return 'skipped';
    await deps.resultSink.publish(job.doc, stored.json);
    await deps.results.markDocumentPublished(job.doc);
    return 'republished';
  }
  const record = planned.record;
  checkTokenizer(record, deps);
  const { head, state } = await deps.checkpoints.load(key);
  if (!head || head.chunk !== record.chunks) {
    throw permanent('E_CHECKPOINT_GAP', `finishing ${record.id} needs all ${record.chunks} chunks; the checkpoint has ${head?.chunk ?? 0}`);
  }
  const started = performance.now();
  const output = await runTask(deps.engine, state, record.task);
  const json = JSON.stringify(documentResult(record, provenance(deps.engine), output));
  const stored = await deps.results.saveDocument(record.id, json);
  if (!stored.published) {
    await deps.resultSink.publish(record.id, stored.json);
    await deps.results.markDocumentPublished(record.id);
  }
  // Done before the state is dropped: a finish redone in between finds "done" and only cleans up.
  await deps.documents.complete(record, 'done');
  await deps.states.drop(key);
  deps.checkpoints.forget(key);
  ctx.log.info({ task: record.task.kind, tokens: record.tokens, headMs: Math.round(performance.now() - started) }, 'document finished');
  return 'finished';
}
