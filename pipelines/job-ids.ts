// Deterministic job ids: the same step of the same document always gets the same id, so a queue that already
// holds it ignores the second add and a document's chain of chunks can never fork. '~' separates because
// BullMQ refuses ':' in custom ids (and ids never contain '~', so the parts are unambiguous).
import type { PipelineJob } from '../schemas/jobs.ts';

export function jobId(job: PipelineJob): string {
  switch (job.kind) {
    case 'plan':
      // Per submission: a redelivered record plans once, while a later submission under the same id is still
      // planned (and recognised as the same document, or refused) instead of being swallowed by the queue.
      return job.origin
        ? `plan~${job.doc}~${job.origin.topic}~${job.origin.partition}~${job.origin.offset}`
        : `plan~${job.doc}`;
    // A document read again after a failure: its chain keeps the new jobs apart from the old ones.
    case 'chunk':
      return `chunk~${job.doc}~${job.chunk}${job.chain ? `~${job.chain}` : ''}`;
    case 'finish':
      return `finish~${job.doc}${job.chain ? `~${job.chain}` : ''}`;
    case 'drain':
      return `drain~${job.stream}~${job.batch}`;
  }
}

/**
 * Which queue runs a job: planning tokenizes (documents by reference in a lane of their own, so a slow server
 * holds up only other fetches); the rest run the model.
 */
export function jobLane(job: PipelineJob): 'ingest' | 'fetch' | 'chunks' {
  if (job.kind !== 'plan') return 'chunks';
  return job.source.kind === 'ref' ? 'fetch' : 'ingest';
}
