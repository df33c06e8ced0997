// JobQueue in one process: jobs run in the order they were added, one at a time. As with the distributed
// queue's custom ids, adding a job whose id is waiting (or ran a moment ago) changes nothing, so a chain of
// chunks can never fork. A delayed job waits for expedite() or for release(): an embedded job reads a finite
// input, so there is never a reason to wait on the clock — and batches then do not depend on timing.
import { jobId } from '../../../pipelines/job-ids.ts';
import type { JobQueue } from '../../../pipelines/ports.ts';
import type { PipelineJob } from '../../../schemas/jobs.ts';

/** Ids of finished jobs remembered, to ignore late duplicate adds (a handful are ever pending in one process). */
const REMEMBERED = 1024;

export class InProcessQueue implements JobQueue {
  readonly #waiting = new Map<string, { job: PipelineJob; delayed: boolean }>();
  readonly #done = new Set<string>();

  async enqueue(job: PipelineJob, options: { delayMs?: number } = {}): Promise<void> {
    const id = jobId(job);
    if (this.#waiting.has(id) || this.#done.has(id)) return;
    this.#waiting.set(id, { job, delayed: (options.delayMs ?? 0) > 0 });
  }

  async expedite(job: PipelineJob): Promise<void> {
    const entry = this.#waiting.get(jobId(job));
    if (entry) entry.delayed = false;
  }

  /** Makes every delayed job runnable (the input has ended). */
  release(): void {
    for (const entry of this.#waiting.values()) entry.delayed = false;
  }

  /** Takes the oldest runnable job off the queue; null when none is runnable. */
  take(): PipelineJob | null {
    for (const [id, entry] of this.#waiting) {
      if (entry.delayed) continue;
      this.#waiting.delete(id);
      this.#done.add(id);
      if (this.#done.size > REMEMBERED) this.#done.delete(this.#done.values().next().value!);
      return entry.job;
    }
    return null;
  }

  get size(): number {
    return this.#waiting.size;
  }
}
