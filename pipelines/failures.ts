// What happens when queued work fails for good (bad input, or retries used up): a dead letter with the
// reason, and for a document a failure record under its result id, so a waiting `rwkvstream result` learns
// why instead of waiting forever.
import type { PipelineJob } from '../schemas/jobs.ts';
import type { FailureRecord } from '../schemas/results.ts';
import type { PipelineDeps } from './context.ts';
import { deadLetter } from './dead-letters.ts';
import { errorCode, errorMessage } from './errors.ts';
import { documentKey } from './document-chunk.ts';

export async function reportFailure(
  job: PipelineJob,
  err: unknown,
  attempts: number,
  deps: PipelineDeps,
): Promise<void> {
  const code = errorCode(err);
  const reason = errorMessage(err);
  const stage = job.kind;
  if (job.kind === 'drain') {
    await deps.deadLetters.publish(
      deadLetter('drain', code, reason, { subject: { kind: 'stream', id: job.stream }, attempts }),
    );
    deps.telemetry.deadLetter(stage, code);
    return;
  }
  const details =
    job.kind === 'plan'
      ? { source: job.origin, ...(job.originalBase64 === undefined ? {} : { originalBase64: job.originalBase64 }) }
      : {};
  await deps.deadLetters.publish(
    deadLetter(stage, code, reason, { ...details, subject: { kind: 'document', id: job.doc }, attempts }),
  );
  deps.telemetry.deadLetter(stage, code);

  const failure: FailureRecord = {
    schema: 'rwkvstream.failure.v1',
    kind: 'failure',
    id: job.doc,
    stage,
    code,
    message: reason,
  };
  const planned = await deps.documents.get(job.doc);
  if (job.kind === 'plan') {
    // A failed plan leaves no document behind (its parts are freed; the dead letter says where the records are);
    // when the id belongs to an existing document (E_DUPLICATE_ID) that document is not touched.
    if (job.source.kind === 'parts') await deps.documents.dropParts(job.doc, job.source.count);
    if (!planned) await deps.results.saveFailure(job.doc, JSON.stringify(failure));
    return;
  }
  if (!planned) {
    // A store that lost commits may have lost the document's record with them: the failure record is all that
    // tells a waiting client what happened.
    if (code === 'E_CHECKPOINT_REGRESSED') await deps.results.saveFailure(job.doc, JSON.stringify(failure));
    return;
  }
  if (planned.status !== 'running') return;
  // The state and the token segments go first: a Redis at maxmemory refuses the failure record until memory is
  // freed (deletes are allowed), and the document's state is its biggest part.
  await deps.states.drop(documentKey(job.doc));
  deps.checkpoints.forget(documentKey(job.doc));
  await deps.documents.complete(planned.record, 'failed');
  await deps.results.saveFailure(job.doc, JSON.stringify(failure));
}
