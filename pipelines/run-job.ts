// One entry point for every kind of queued work, whichever queue delivers it.
import type { PipelineJob } from '../schemas/jobs.ts';
import type { PipelineDeps } from './context.ts';
import { runChunk } from './document-chunk.ts';
import { runDrain } from './drain.ts';
import { finishDocument } from './finish.ts';
import { planDocument } from './plan.ts';
import type { JobContext } from './ports.ts';

/** Runs a job; the outcome says what it did (applied, skipped as already done, superseded, ...). */
export async function runJob(job: PipelineJob, deps: PipelineDeps, ctx: JobContext): Promise<string> {
  switch (job.kind) {
    case 'plan':
      return planDocument(job, deps, ctx);
    case 'chunk':
      return runChunk(job, deps, ctx);
    case 'finish':
      return finishDocument(job, deps, ctx);
    case 'drain':
      return runDrain(job, deps, ctx);
  }
}
