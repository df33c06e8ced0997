// The JobQueue contract: what the pipelines rely on from every queue — a job id that still exists is not added
// again (a retried step cannot fork a chain), a delayed job waits until expedited, and jobs of one lane come
// out in the order they were added. Run against each adapter by ports.test.ts, through a driver that takes
// jobs as a worker would.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { JobQueue } from '../../pipelines/ports.ts';
import type { PipelineJob } from '../../schemas/jobs.ts';
import { DocumentTaskSchema } from '../../schemas/tasks.ts';
import { withPort, type Factory } from './state-store.contract.ts';

export interface QueueDriver {
  queue: JobQueue;
  /** Takes the oldest runnable job (as a worker would) and completes it; null when none is runnable. */
  take(): Promise<PipelineJob | null>;
  /** Jobs not yet taken, delayed ones included. */
  waiting(): Promise<number>;
}

export interface JobQueueTraits {
  /**
   * A delayed job becomes runnable by itself once its delay has passed. The distributed queue's do; the
   * in-process queue's wait for expedite() or release(), since a process reading a finite input has no
   * reason to wait on the clock (and its batches then do not depend on timing).
   */
  delaysElapse: boolean;
}

const chunk = (doc: string, n: number, chain?: string): PipelineJob => ({
  kind: 'chunk',
  doc,
  chunk: n,
  ...(chain ? { chain } : {}),
});
const drain = (stream: string, batch: number): PipelineJob => ({ kind: 'drain', stream, batch });

async function takeAll(driver: QueueDriver): Promise<PipelineJob[]> {
  const out: PipelineJob[] = [];
  for (let job = await driver.take(); job; job = await driver.take()) out.push(job);
  return out;
}

export function jobQueueContract(adapter: string, factory: Factory<QueueDriver>, traits: JobQueueTraits): void {
  test(`${adapter} JobQueue: a job is taken once, as it was added`, () =>
    withPort(factory, async (d) => {
      assert.equal(await d.take(), null);
      await d.queue.enqueue(chunk('doc-1', 0));
      assert.equal(await d.waiting(), 1);
      assert.deepEqual(await d.take(), chunk('doc-1', 0));
      assert.equal(await d.take(), null);
      assert.equal(await d.waiting(), 0);
    }));

  test(`${adapter} JobQueue: an id that is waiting is not added again, whatever the second add asks`, () =>
    withPort(factory, async (d) => {
      await d.queue.enqueue(drain('s', 0), { delayMs: 60_000 });
      await d.queue.enqueue(drain('s', 0));
      assert.equal(await d.waiting(), 1);
      assert.equal(await d.take(), null, 'the job added first is left as it was: delayed');
      await d.queue.enqueue(chunk('doc-1', 3));
      await d.queue.enqueue(chunk('doc-1', 3));
      assert.deepEqual(await takeAll(d), [chunk('doc-1', 3)]);
    }));

  test(`${adapter} JobQueue: an id that ran is not added again while the queue keeps it`, () =>
    withPort(factory, async (d) => {
      await d.queue.enqueue(chunk('doc-1', 0));
      assert.deepEqual(await d.take(), chunk('doc-1', 0));
      await d.queue.enqueue(chunk('doc-1', 0));
      assert.equal(await d.take(), null, 'a late duplicate of a step that ran');
      // Another chain of the same document is another job.
      await d.queue.enqueue(chunk('doc-1', 0, 'c2'));
      assert.deepEqual(await d.take(), chunk('doc-1', 0, 'c2'));
    }));

  test(`${adapter} JobQueue: jobs of one lane come out in the order they were added`, () =>
    withPort(factory, async (d) => {
      const jobs: PipelineJob[] = [
        chunk('b', 0),
        drain('s', 4),
        { kind: 'finish', doc: 'a' },
        chunk('a', 7),
        { kind: 'finish', doc: 'a', chain: 'c1' },
        drain('s', 5),
      ];
      for (const job of jobs) await d.queue.enqueue(job);
      assert.deepEqual(await takeAll(d), jobs);
    }));

  test(`${adapter} JobQueue: planning jobs come out once each, in their lanes`, () =>
    withPort(factory, async (d) => {
      const task = DocumentTaskSchema.parse({ kind: 'classify', labels: ['a', 'b'] });
      const parts: PipelineJob = { kind: 'plan', doc: 'p', source: { kind: 'parts', count: 2 }, task };
      const ref: PipelineJob = { kind: 'plan', doc: 'r', source: { kind: 'ref', url: 'file:///x' }, task };
      await d.queue.enqueue(parts);
      await d.queue.enqueue(ref);
      await d.queue.enqueue(parts);
      const taken = await takeAll(d);
      assert.equal(taken.length, 2);
      assert.deepEqual(
        new Set(taken.map((j) => JSON.stringify(j))),
        new Set([parts, ref].map((j) => JSON.stringify(j))),
      );
    }));

  test(`${adapter} JobQueue: a delayed job waits; expedite makes it runnable`, () =>
    withPort(factory, async (d) => {
      await d.queue.enqueue(drain('s', 0), { delayMs: 60_000 });
      await d.queue.enqueue(chunk('doc-1', 0));
      assert.deepEqual(await d.take(), chunk('doc-1', 0), 'a job behind a delayed one is not held up');
      assert.equal(await d.take(), null);
      assert.equal(await d.waiting(), 1);
      await d.queue.expedite(drain('s', 0));
      assert.deepEqual(await d.take(), drain('s', 0));
      assert.equal(await d.waiting(), 0);
    }));

  test(`${adapter} JobQueue: expedite of a job that is not there, not delayed, or ran changes nothing`, () =>
    withPort(factory, async (d) => {
      await d.queue.expedite(drain('nothing', 0));
      await d.queue.enqueue(chunk('doc-1', 0));
      await d.queue.expedite(chunk('doc-1', 0));
      assert.deepEqual(await takeAll(d), [chunk('doc-1', 0)]);
      await d.queue.expedite(chunk('doc-1', 0));
      assert.equal(await d.take(), null);
      assert.equal(await d.waiting(), 0);
    }));

  test(`${adapter} JobQueue: a delayed job ${traits.delaysElapse ? 'runs once its delay has passed' : 'waits for expedite however long it waited'}`, () =>
    withPort(factory, async (d) => {
      await d.queue.enqueue(drain('s', 1), { delayMs: 200 });
      assert.equal(await d.take(), null);
      await new Promise((resolve) => setTimeout(resolve, 600));
      if (traits.delaysElapse) {
        assert.deepEqual(await d.take(), drain('s', 1));
      } else {
        assert.equal(await d.take(), null);
        await d.queue.expedite(drain('s', 1));
        assert.deepEqual(await d.take(), drain('s', 1));
      }
    }));
}
