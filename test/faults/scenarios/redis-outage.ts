// Redis unreachable for a while in the middle of work: the scenario's own Redis is stopped (its data kept) while
// two workers read documents of many chunks, and started again about 12 s later. The workers must log their
// connection errors, wait and resume by themselves (ioredis reconnects, BullMQ workers pick up again): no worker
// process exits, every document ends with its reference result and one commit per chunk.
import { setTimeout as sleep } from 'node:timers/promises';

import { Cluster, mixedDocuments } from '../cluster.ts';
import { referenceResult } from '../reference.ts';
import type { Scenario } from '../scenario.ts';
import { commitTimes, firstCommitAfter, midWork, quiesced, ScenarioRedis } from './redis-restart.ts';

const CHUNK_TOKENS = 64;
const WORKER_ARGS = ['--lock-ms', '2000', '--stalled-ms', '1000'];
const DOWN_MS = 12_000;

export const redisOutage: Scenario = {
  name: 'redis-outage',
  category: 'fault',
  quick: false,
  async run(ctx, report) {
    const redis = new ScenarioRedis(ctx, 6392);
    const docs = mixedDocuments(ctx.quick ? 4 : 6, 300, 'ro');
    try {
      await redis.start();
      for (const doc of docs) await referenceResult({ ...doc, chunkTokens: CHUNK_TOKENS });
      await Cluster.open(
        {
          brokers: await ctx.brokers(),
          redisUrl: redis.url,
          name: 'redis-outage',
          chunkTokens: CHUNK_TOKENS,
          workerArgs: WORKER_ARGS,
        },
        async (cluster) => {
          const workers = await Promise.all([cluster.spawn('ro-w1'), cluster.spawn('ro-w2')]);
          await cluster.submit(docs);
          const inTime = await midWork(cluster, docs, docs.length * 3, 120_000);
          const before = (await commitTimes(cluster, docs)).length;
          const logsBefore = workers.map((w) => w.logs.length);
          const stoppedAt = Date.now();
          await redis.stop();
          await sleep(Math.max(0, DOWN_MS - (Date.now() - stoppedAt)));
          const startMs = await redis.start();
          const upAt = Date.now();
          const resumeMs = await firstCommitAfter(cluster, docs, upAt, 120_000);
          ctx.log(
            `Redis down ${((upAt - stoppedAt) / 1000).toFixed(1)} s with ${before} commits done; first commit ${resumeMs ?? '-'} ms after it came back`,
          );
          const settled = await quiesced(cluster, docs, 400_000);
          const verdict = await cluster.verify(docs);
          const live = new Set(cluster.live.map((w) => w.name));
          const exited = workers.filter((w) => !live.has(w.name)).map((w) => w.name);
          // What the workers said while Redis was away (errors at level 50, warnings at 40).
          const during = workers.flatMap((w, i) => w.logs.slice(logsBefore[i]).filter((e) => Number(e.level) >= 40));
          const messages = [...new Set(during.map((e) => String(e.msg)))];
          const problems = [...verdict.problems];
          if (exited.length > 0) problems.unshift(`workers exited: ${exited.join(', ')}`);
          if (!inTime) problems.unshift('documents finished before Redis went down');
          if (resumeMs === null) problems.unshift('no commit after Redis came back');
          const failed = problems.length > verdict.problems.length;
          report({
            category: 'fault',
            name: 'Redis down ~12 s under running chunks',
            tries: docs.length,
            identical: failed ? 0 : verdict.identical,
            refused: 0,
            lost: failed ? docs.length : verdict.lost,
            note:
              `${docs.length} docs, ${before} commits before the stop, down ${((upAt - stoppedAt) / 1000).toFixed(1)} s ` +
              `(start ${(startMs / 1000).toFixed(1)} s), first commit ${resumeMs === null ? 'never' : `${(resumeMs / 1000).toFixed(1)} s`} after; ` +
              `${during.length} warnings/errors logged (${messages.slice(0, 3).join(' | ')}), ${workers.length - exited.length}/${workers.length} workers alive; ` +
              `${verdict.duplicates} duplicate results` +
              (settled ? '' : `; ${cluster.pending(docs).length} never finished`) +
              (problems.length > 0 ? `; ${problems[0]}` : ''),
          });
        },
      );
    } finally {
      await redis.destroy();
    }
  },
};
