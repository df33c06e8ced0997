// The resume rule of a document: what is left to do, read from what was committed. Every step of a document
// is redone safely (see document-chunk.ts and finish.ts), so the stores alone say where it stands:
//   nothing planned                         plan it;
//   failed                                  nothing can be done under this reading of the id;
//   done, its result not yet published      publish the stored result (the finish step redone does that);
//   done and published                      nothing;
//   running, the last commit's outbox (the section results committed with the state) not yet delivered
//                                           deliver it: run again the chunk that made it, which finds itself
//                                           applied, stores and publishes the outbox, then queues its successor
//                                           (a later commit would replace the outbox, losing its sections);
//   running, chunks left                    the next chunk;
//   running, every chunk committed          the finish step.
// The embedded job queues the job of this step (stepJob); a queued chunk or finish job compares itself with it
// (chunkJobAction, finishJobReady), since a job may arrive late, twice, or after its successor already ran.
import type { PipelineJob } from '../schemas/jobs.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import type { CheckpointHead, PlannedDocument, StoredResult } from './ports.ts';

export type ResumeStep =
  | { step: 'plan' }
  | { step: 'failed' }
  | { step: 'publish' }
  | { step: 'done' }
  /** `committed`: chunks applied (the checkpoint's next chunk); the outbox is that of chunk committed - 1. */
  | { step: 'deliver'; chunk: number; committed: number; version: number; outbox: string }
  | { step: 'chunk'; chunk: number; committed: number }
  | { step: 'finish'; committed: number };

export interface DocumentProgress {
  planned: PlannedDocument | null;
  /** The committed checkpoint (null: no chunk committed, or the state was dropped after the document ended). */
  head: CheckpointHead | null;
  /** The stored result of a document that is done (not read otherwise: null). */
  stored?: StoredResult | null;
}

/** Whether the commit that made `head` has section results not yet delivered. */
export function outboxPending(head: CheckpointHead | null): head is CheckpointHead & { result: string } {
  return head !== null && head.result !== null && !head.published;
}

/** The next step of a document (see above). */
export function resumeDocument({ planned, head, stored = null }: DocumentProgress): ResumeStep {
  if (!planned) return { step: 'plan' };
  switch (planned.status) {
    case 'failed':
      return { step: 'failed' };
    case 'done':
      return stored && !stored.published ? { step: 'publish' } : { step: 'done' };
    case 'running': {
      const committed = head?.chunk ?? 0;
      if (outboxPending(head))
        return { step: 'deliver', chunk: committed - 1, committed, version: head.version, outbox: head.result };
      return committed < planned.record.chunks
        ? { step: 'chunk', chunk: committed, committed }
        : { step: 'finish', committed };
    }
  }
}

export type ChunkJobAction =
  /** Its successor committed too: a late duplicate with nothing to do. */
  | 'skip'
  /** It is the last one committed: deliver the outbox if it is pending, and make sure the successor is queued. */
  | 'applied'
  /** It is the next one: run it (if another run commits first, this commit is refused and changes nothing). */
  | 'run'
  /** It is ahead of the checkpoint, which cannot happen (a chunk is queued only after its predecessor committed). */
  | 'gap';

/** What a queued job of chunk `chunk` does, given its running document's step. */
export function chunkJobAction(chunk: number, step: Extract<ResumeStep, { committed: number }>): ChunkJobAction {
  const next = step.committed;
  if (next > chunk + 1) return 'skip';
  if (next === chunk + 1) return 'applied';
  if (next < chunk) return 'gap';
  return 'run';
}

/** Whether a finish job of a running document may run: every chunk is committed. */
export function finishJobReady(step: Extract<ResumeStep, { committed: number }>, chunks: number): boolean {
  return step.committed === chunks;
}

/** The step of a running document (the caller checked the status). */
export function runningStep(
  planned: PlannedDocument,
  head: CheckpointHead | null,
): Extract<ResumeStep, { committed: number }> {
  const step = resumeDocument({ planned, head });
  if (!('committed' in step)) throw new Error(`document ${planned.record.id} is ${planned.status}, not running`);
  return step;
}

/** The queued job that carries out a running document's step (in the record's chain). */
export function stepJob(step: Extract<ResumeStep, { committed: number }>, record: DocumentRecord): PipelineJob {
  const chain = record.chain === undefined ? {} : { chain: record.chain };
  return step.step === 'finish'
    ? { kind: 'finish', doc: record.id, ...chain }
    : { kind: 'chunk', doc: record.id, chunk: step.chunk, ...chain };
}
