// JobQueue in one process. As with the distributed queue's custom ids, adding a job whose id is waiting (or ran
// a moment ago) changes nothing, so a chain of chunks can never fork. Jobs run oldest first, one at a time.
// A delayed job waits for expedite() or release(): a process that reads a finite input never has a reason to
// wait on the clock, and batches then do not depend on timing. Tests that step through the jobs by hand may
// let delayed jobs run at once (`delays: 'ignore'`; the delay asked for is still recorded).
import { jobId } from '../../../pipelines/job-ids.ts';
import type { JobQueue } from '../../../pipelines/ports.ts';
import type { PipelineJob } from '../../../schemas/jobs.ts';

export interface MemoryJobQueueOptions {
  /** 'hold' (default): a delayed job waits for expedite() or release(); 'ignore': it can run at once. */
  delays?: 'hold' | 'ignore';
  /**
   * How many finished jobs are remembered, so that a late duplicate add of one is ignored (BullMQ keeps
   * completed jobs for a while, to the same end). Default 1024: a handful are ever pending in one process.
   * Infinity keeps them all until forgetDone().
   */
  keepDone?: number;
}

/** A job the queue holds, as a test inspects it. */
export interface QueuedJob {
  id: string;
  job: PipelineJob;
  /** The delay asked for when it was added; 0 once expedited or released. */
  delayMs: number;
  done: boolean;
}

interface Entry extends QueuedJob {
  /** Order of adding. */
  serial: number;
}

export class MemoryJobQueue implements JobQueue {
  readonly #holdDelayed: boolean;
  readonly #keepDone: number;
  /** Waiting jobs, oldest first. */
  readonly #waiting = new Map<string, Entry>();
  /** Finished jobs still remembered, in the order they finished. */
  readonly #done = new Map<string, Entry>();
  #serial = 0;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.#holdDelayed = (options.delays ?? 'hold') === 'hold';
    this.#keepDone = options.keepDone ?? 1024;
    if (!(this.#keepDone >= 0)) throw new RangeError(`keepDone must be a count of jobs, not ${options.keepDone}`);
  }

  async enqueue(job: PipelineJob, options: { delayMs?: number } = {}): Promise<void> {
    const id = jobId(job);
    if (this.#waiting.has(id) || this.#done.has(id)) return;
    const delayMs = options.delayMs ?? 0;
    this.#waiting.set(id, {
      id,
      job,
      delayMs: Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0,
      done: false,
      serial: this.#serial++,
    });
  }

  async expedite(job: PipelineJob): Promise<void> {
    const entry = this.#waiting.get(jobId(job));
    if (entry) entry.delayMs = 0;
  }

  /** Makes every delayed job runnable (the input has ended). */
  release(): void {
    for (const entry of this.#waiting.values()) entry.delayMs = 0;
  }

  /** The oldest runnable job, left in the queue (markDone() finishes it); null when none is runnable. */
  next(): { id: string; job: PipelineJob } | null {
    for (const entry of this.#waiting.values()) {
      if (this.#holdDelayed && entry.delayMs > 0) continue;
      return { id: entry.id, job: entry.job };
    }
    return null;
  }

  /** Finishes the waiting job `id` (run or not: a test may drop one); its id is remembered as keepDone says. */
  markDone(id: string): void {
    const entry = this.#waiting.get(id);
    if (!entry) throw new Error(`no job ${id} is waiting`);
    this.#waiting.delete(id);
    entry.done = true;
    this.#done.set(id, entry);
    while (this.#done.size > this.#keepDone) this.#done.delete(this.#done.keys().next().value!);
  }

  /** Takes the oldest runnable job off the queue (next() and markDone() in one); null when none is runnable. */
  take(): PipelineJob | null {
    const next = this.next();
    if (!next) return null;
    this.markDone(next.id);
    return next.job;
  }

  /** Forgets every finished job, as BullMQ does once their retention ends: its id can be added again. */
  forgetDone(): void {
    this.#done.clear();
  }

  /** Jobs waiting, delayed ones included. */
  get size(): number {
    return this.#waiting.size;
  }

  /** The job under `id`, waiting or remembered as done. */
  get(id: string): QueuedJob | undefined {
    const entry = this.#waiting.get(id) ?? this.#done.get(id);
    return entry ? { id: entry.id, job: entry.job, delayMs: entry.delayMs, done: entry.done } : undefined;
  }

  /** The ids held (waiting, and finished ones remembered), in the order they were added. */
  ids(): string[] {
    return [...this.#waiting.values(), ...this.#done.values()].sort((a, b) => a.serial - b.serial).map((e) => e.id);
  }
}
