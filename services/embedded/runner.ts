// Runs an embedded job's queued work in order, through the same entry point the distributed workers use.
// A stop request (Ctrl-C) is honoured between jobs: the job that is running finishes and commits its
// checkpoint first, so stopping never costs work that was done. A failing job stops the run with its error;
// there are no retries here — whatever was committed stays, and running the command again resumes.
import type { PipelineJob } from '../../schemas/jobs.ts';
import { runJob } from '../../pipelines/run-job.ts';
import type { JobContext, JobProgress, Log } from '../../pipelines/ports.ts';
import type { EmbeddedPipeline } from './pipeline.ts';

export interface RunnerOptions {
  /** Aborted: finish the job in hand, then stop. */
  stop: AbortSignal;
  log: Log;
  /** Chunk progress, as the pipelines report it. */
  onProgress?: (progress: JobProgress) => void;
  /** Called after each job, before the next is taken (checks, progress of work that reports none). */
  afterJob?: (job: PipelineJob, outcome: string) => Promise<void>;
}

export class JobRunner {
  readonly #pipeline: EmbeddedPipeline;
  readonly #options: RunnerOptions;
  readonly #ctx: JobContext;

  constructor(pipeline: EmbeddedPipeline, options: RunnerOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#ctx = {
      log: options.log,
      progress: async (p) => options.onProgress?.(p),
    };
  }

  get stopped(): boolean {
    return this.#options.stop.aborted;
  }

  /** Runs jobs until none is runnable; false when it stopped on request with work left. */
  async runRunnable(): Promise<boolean> {
    while (!this.stopped) {
      const job = this.#pipeline.queue.take();
      if (!job) return true;
      const outcome = await runJob(job, this.#pipeline.deps, this.#ctx);
      await this.#options.afterJob?.(job, outcome);
    }
    return this.#pipeline.queue.size === 0;
  }
}
