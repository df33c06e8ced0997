// A zombie worker: paused (SIGSTOP) in the middle of a chunk until its job lock expired and another worker took
// the chunk over and committed it, then resumed (SIGCONT). Its late commit must be refused by the fenced commit,
// seen in its log, its rejected-commits counter and the audit trail, and the result must be the reference.
import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster, metricValue, type FaultDocument } from '../cluster.ts';
import type { StartingWorker } from '../../integration/helpers/worker-process.ts';
import type { Scenario } from '../scenario.ts';

const WORKER_ARGS = ['--lock-ms', '2000', '--stalled-ms', '1000'];
// Long chunks (about 1 s each on the tiny model with one thread, more on a busy machine), so the pause lands
// inside the model's work.
const CHUNK_TOKENS = 65_536;
const REJECTED = 'rwkvstream_checkpoint_commits_rejected_total';
const MOVED_ON = 'checkpoint moved on; this run is discarded';

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What a takeover that never came was waiting on: the chunk job's queue state, the commits so far, each worker's last words. */
async function takeoverState(
  cluster: Cluster,
  docId: string,
  chunk: number,
  workers: StartingWorker[],
): Promise<string> {
  const job = await cluster.chunkJobState(`chunk~${docId}~${chunk}`);
  const trail = (await cluster.audit(docId)).map((e) => `${e.chunk}:${e.writer}`).join(',');
  const last = workers
    .map(
      (w) =>
        `${w.name}: ${w.logs
          .slice(-4)
          .map((e) => JSON.stringify(e))
          .join(' ')}`,
    )
    .join('; ');
  return `job ${JSON.stringify(job)}; commits [${trail}]; ${last}`;
}

export const zombie: Scenario = {
  name: 'zombie',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const tries = ctx.quick ? 1 : 3;
    const text = Array.from(
      { length: 2200 },
      (_, i) => `Line ${i}: the ledger shows ${(i * 17) % 89} entries for account ${i % 13}.\n`,
    ).join('');
    const refusals: string[] = [];
    const problems: string[] = [];
    let identical = 0;
    let attempts = 0;
    let spoiled = 0;
    await Cluster.open(
      {
        brokers: await ctx.brokers(),
        redisUrl: ctx.redisUrl,
        name: 'zombie',
        chunkTokens: CHUNK_TOKENS,
        workerArgs: WORKER_ARGS,
      },
      async (cluster) => {
        const workers = await Promise.all([cluster.spawn('zombie-a'), cluster.spawn('zombie-b')]);
        const done: FaultDocument[] = [];
        // A pause that lands before the chunk read its checkpoint (it finds the chunk done and skips) or after the
        // victim committed it is no zombie: such an attempt is not counted and another document is tried.
        while (done.length < tries && attempts < tries + 3) {
          const doc: FaultDocument = { id: `zombie-${attempts++}`, text, task: { kind: 'summarize', maxTokens: 16 } };
          await cluster.submit([doc]);
          // The chunk job in progress, and who runs it (BullMQ keeps its taker in the job's "pb" field).
          const { victim, chunk } = await until('a chunk to start', 60_000, async () => {
            for (const w of workers) {
              const job = (await cluster.activeChunkJobs(w)).find((id) => id.startsWith(`chunk~${doc.id}~`));
              if (job) return { victim: w, chunk: Number(job.split('~').at(-1)) };
            }
            return null;
          });
          const other = workers.find((w) => w !== victim)!;
          // Past the checkpoint read (milliseconds), well before the end of the forward pass (a second or more).
          await sleep(150);
          const rejectedBefore = await metricValue(victim, REJECTED);
          const movedOnBefore = victim.logs.filter((e) => e.msg === MOVED_ON).length;
          victim.kill('SIGSTOP');
          let committer: string;
          try {
            committer = await until(
              `a commit of chunk ${chunk}`,
              90_000,
              async () => (await cluster.audit(doc.id)).find((e) => e.chunk === chunk + 1)?.writer,
            );
          } catch (err) {
            ctx.log(
              `${(err as Error).message} (${victim.name} paused): ${await takeoverState(cluster, doc.id, chunk, workers)}`,
            );
            throw err;
          } finally {
            victim.kill('SIGCONT');
          }
          ctx.log(`${doc.id}: ${victim.name} paused in chunk ${chunk}, ${committer} committed it`);
          // The victim committed before the pause took hold: nothing was left for the other worker to take over.
          const refused =
            committer === victim.name
              ? null
              : await until(`${victim.name} to find its commit refused`, 30_000, async () => {
                  const entry = victim.logs
                    .filter((e) => e.msg === MOVED_ON)
                    .slice(movedOnBefore)
                    .find((e) => e.chunk === chunk);
                  return (
                    entry ??
                    (victim.logs.some((e) => e.msg === 'document is not running; nothing to do') ? 'skipped' : null)
                  );
                }).catch(() => null);
          await until(`the result of ${doc.id}`, 120_000, async () => cluster.pending([doc]).length === 0);
          if (refused === null || refused === 'skipped') {
            ctx.log(`${doc.id}: the pause landed outside the chunk's work; trying another document`);
            // Not a zombie try, but its result must still be right: anything wrong counts as a lost try.
            const verdict = await cluster.verify([doc]);
            if (verdict.lost > 0) {
              problems.push(...verdict.problems);
              spoiled++;
            }
            continue;
          }
          const rejectedAfter = await metricValue(victim, REJECTED);
          const verdict = await cluster.verify([doc]);
          const trail = await cluster.audit(doc.id);
          const writerOfChunk = trail.find((e) => e.chunk === chunk + 1)?.writer;
          if (rejectedAfter !== rejectedBefore + 1)
            problems.push(`${doc.id}: ${REJECTED} went ${rejectedBefore} -> ${rejectedAfter}`);
          else if (writerOfChunk !== other.name)
            problems.push(`${doc.id}: chunk ${chunk} committed by ${writerOfChunk}`);
          else if (verdict.lost > 0) problems.push(...verdict.problems);
          else {
            identical++;
            refusals.push(`chunk ${chunk}`);
          }
          done.push(doc);
        }
      },
    );
    report({
      category: 'fault',
      name: 'zombie worker (SIGSTOP past its lock, SIGCONT)',
      tries: tries + spoiled,
      identical,
      refused: 0,
      lost: tries + spoiled - identical,
      note:
        `${identical} late commits refused by fencing (${refusals.join(', ') || 'none'}; log + ${REJECTED} + audit), ` +
        `${attempts - tries} extra attempts` +
        (problems.length > 0 ? `; ${problems[0]}` : ''),
    });
  },
};
