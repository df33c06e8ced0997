// Workers SIGKILLed at random moments while documents are read: each killed worker is replaced, the others and
// the replacement take its jobs over once their locks expire, and every document still ends with exactly its
// undisturbed result and one commit per chunk.
import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster, mixedDocuments } from '../cluster.ts';
import type { Scenario } from '../scenario.ts';

// Short locks, so a killed worker's jobs are taken over within seconds.
const WORKER_ARGS = ['--lock-ms', '2000', '--stalled-ms', '1000'];

export const workerKill: Scenario = {
  name: 'worker-kill',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const docs = mixedDocuments(ctx.quick ? 6 : 30, 60, 'kill');
    const targetKills = ctx.quick ? 4 : 25;
    const workerCount = ctx.quick ? 2 : 3;
    const started = performance.now();
    await Cluster.open(
      {
        brokers: await ctx.brokers(),
        redisUrl: ctx.redisUrl,
        name: 'worker-kill',
        chunkTokens: 64,
        workerArgs: WORKER_ARGS,
      },
      async (cluster) => {
        await Promise.all(Array.from({ length: workerCount }, (_, i) => cluster.spawn(`w${i}`)));
        await cluster.submit(docs);
        const submitted = performance.now();
        const since = () => `${((performance.now() - submitted) / 1000).toFixed(1)} s`;
        let kills = 0;
        let takeovers = 0;
        // Replacements start in the background, so kills keep coming while they load their model.
        const replacements: Promise<unknown>[] = [];
        const spawnFailures: Error[] = [];
        const killed = new Set<string>();
        while (kills < targetKills && cluster.pending(docs).length > 0) {
          await sleep(300 + Math.random() * 1500);
          const live = cluster.live;
          if (live.length === 0) continue;
          // A worker in the middle of a chunk when there is one: that is the kill that costs work.
          const busy = await Promise.all(live.map((w) => cluster.activeChunkJobs(w)));
          const candidates = live.filter((_, i) => busy[i]!.length > 0);
          const pool = candidates.length > 0 ? candidates : live;
          const victim = pool[Math.floor(Math.random() * pool.length)]!;
          const active = busy[live.indexOf(victim)]!;
          killed.add(victim.name);
          victim.kill('SIGKILL');
          await victim.exited;
          kills++;
          takeovers += active.length;
          ctx.log(
            `${since()}: killed ${victim.name} running ${active.length} chunk jobs (${kills}/${targetKills}); ${cluster.pending(docs).length} documents pending`,
          );
          const name = `${victim.name.replace(/-r\d+$/, '')}-r${kills}`;
          // A replacement killed before it was ready is part of the test; one that failed by itself is not.
          replacements.push(cluster.spawn(name).catch((err: Error) => killed.has(name) || spawnFailures.push(err)));
        }
        // A replacement that cannot start is a crash of the scenario (reported after cleanup), not an unhandled rejection.
        await Promise.all(replacements);
        if (spawnFailures.length > 0) throw spawnFailures[0]!;
        const settled = await cluster.settled(docs, ctx.quick ? 180_000 : 600_000);
        ctx.log(`${since()}: ${settled ? 'all results out' : 'gave up waiting'}`);
        const verdict = await cluster.verify(docs);
        const superseded = cluster.logged('checkpoint moved on; this run is discarded').length;
        const seconds = ((performance.now() - started) / 1000).toFixed(0);
        report({
          category: 'fault',
          name: 'worker SIGKILL at random moments',
          tries: docs.length,
          identical: verdict.identical,
          refused: 0,
          lost: verdict.lost,
          note:
            `${docs.length} docs, ${kills} kills of ${workerCount} workers, ${takeovers} chunk jobs taken over, ` +
            `${superseded} superseded commits, ${verdict.duplicates} duplicate results, ${seconds} s` +
            (settled ? '' : `; ${cluster.pending(docs).length} never finished`) +
            (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
        });
      },
    );
  },
};
