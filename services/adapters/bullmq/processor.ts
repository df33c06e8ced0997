// Runs queued pipeline jobs and maps their failures onto BullMQ: bad input and broken invariants fail at once
// (UnrecoverableError), passing trouble is retried with backoff, and the last failure of a job is reported
// (dead letter, and a failure record for a document).
import { UnrecoverableError, type Job } from 'bullmq';

import type { PipelineDeps } from '../../../pipelines/context.ts';
import { errorCode, errorMessage, isRetriable } from '../../../pipelines/errors.ts';
import { reportFailure } from '../../../pipelines/failures.ts';
import type { JobContext } from '../../../pipelines/ports.ts';
import { runJob } from '../../../pipelines/run-job.ts';
import type { ErrorCode } from '../../../schemas/error-codes.ts';
import { PipelineJobSchema, type PipelineJob } from '../../../schemas/jobs.ts';

function subject(job: PipelineJob): Record<string, unknown> {
  return job.kind === 'drain'
    ? { stream: job.stream, batch: job.batch }
    : { doc: job.doc, ...(job.kind === 'chunk' ? { chunk: job.chunk } : {}) };
}

export function pipelineProcessor(deps: PipelineDeps) {
  return async (job: Job): Promise<string> => {
    const parsed = PipelineJobSchema.safeParse(job.data);
    if (!parsed.success) {
      // Nothing but this code adds jobs; a payload it cannot read was written by something else.
      deps.log.error({ job: job.id, issues: parsed.error.issues }, 'queued job has an unknown payload');
      throw new UnrecoverableError(`E_JOB_PAYLOAD: job ${job.id} has a payload this version cannot read`);
    }
    const data = parsed.data;
    const attempt = job.attemptsMade + 1;
    const log = deps.log.child({ job: job.id, kind: data.kind, attempt, ...subject(data) });
    const ctx: JobContext = { log, progress: (p) => job.updateProgress({ ...p }) };
    try {
      return await runJob(data, deps, ctx);
    } catch (err) {
      const retriable = isRetriable(err);
      const last = !retriable || attempt >= (job.opts.attempts ?? 1);
      const code = errorCode(err);
      log[last ? 'error' : 'warn'](
        { code, err: errorMessage(err), retriable },
        last ? 'job failed for good' : 'job failed; will retry',
      );
      if (last) {
        try {
          await reportFailure(data, err, attempt, deps);
        } catch (reportErr) {
          log.error({ err: errorMessage(reportErr) }, 'could not report the failure (dead letter lost; see this log)');
        }
      }
      if (!retriable) throw new UnrecoverableError(`${code}: ${errorMessage(err)}`);
      throw err;
    }
  };
}

/** Jobs BullMQ fails by itself (stalled too often: their worker kept dying) never reach the processor's catch. */
export async function reportStalledFailure(job: Job | undefined, err: Error, deps: PipelineDeps): Promise<void> {
  if (!job || !err.message.includes('stalled more than allowable limit')) return;
  const parsed = PipelineJobSchema.safeParse(job.data);
  if (!parsed.success) return;
  const failure = Object.assign(new Error(err.message), { code: 'E_STALLED' satisfies ErrorCode });
  await reportFailure(parsed.data, failure, job.attemptsStarted, deps);
}
