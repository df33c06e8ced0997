// JobQueue on BullMQ: three queues under the deployment's prefix — "ingest" (planning: tokenizing), "fetch"
// (planning of documents read by reference, which wait on other servers) and "chunks" (model work: chunks,
// finish steps, stream drains) — so each gets its own workers.
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/access.ts';

import { jobId, jobLane } from '../../../pipelines/job-ids.ts';
import type { JobQueue } from '../../../pipelines/ports.ts';
import type { PipelineJob } from '../../../schemas/jobs.ts';

export type Lane = 'ingest' | 'fetch' | 'chunks';
export const LANES: readonly Lane[] = ['ingest', 'fetch', 'chunks'];

export interface QueueSettings {
  attempts: number;
  backoffMs: number;
}

/** Completed jobs are kept an hour: long enough that late duplicate adds of the same id are ignored. */
const KEEP_COMPLETED = { age: 3600 };
/** Failed document jobs are kept a week for inspection (the document is marked failed and dead-lettered). */
const KEEP_FAILED = { age: 7 * 24 * 3600 };

export function openQueues(connection: RedisClient, prefix: string): Record<Lane, Queue> {
  return {
    ingest: new Queue('ingest', { connection, prefix }),
    fetch: new Queue('fetch', { connection, prefix }),
    chunks: new Queue('chunks', { connection, prefix }),
  };
}

export class BullJobQueue implements JobQueue {
  constructor(
    private readonly queues: Record<Lane, Queue>,
    private readonly settings: QueueSettings,
  ) {}

  #options(job: PipelineJob, delayMs: number | undefined): JobsOptions {
    return {
      jobId: jobId(job),
      attempts: this.settings.attempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs },
      removeOnComplete: KEEP_COMPLETED,
      // A failed drain is removed, so the stream's next event can schedule its batch again.
      removeOnFail: job.kind === 'drain' ? true : KEEP_FAILED,
      ...(delayMs !== undefined && delayMs > 0 ? { delay: delayMs } : {}),
    };
  }

  async enqueue(job: PipelineJob, options: { delayMs?: number } = {}): Promise<void> {
    await this.queues[jobLane(job)].add(job.kind, job, this.#options(job, options.delayMs));
  }

  async expedite(job: PipelineJob): Promise<void> {
    const existing = await this.queues[jobLane(job)].getJob(jobId(job));
    if (!existing || !(await existing.isDelayed())) return;
    try {
      await existing.promote();
    } catch (err) {
      // It became due (or started) between the two calls: nothing left to expedite.
      if (await existing.isDelayed()) throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all(LANES.map((lane) => this.queues[lane].close()));
  }
}
