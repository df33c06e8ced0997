// A Redis Cluster of three masters (infra/redis/start-cluster.sh): two workers with --redis-cluster read
// documents, one of them SIGKILLed mid-work and replaced. Every script and multi-key command must stay in one
// slot and BullMQ's queues under the {prefix} hash tag; each document must end with its reference result and
// one commit per chunk.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { repoRoot } from '../../helpers/paths.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import type { Scenario } from '../scenario.ts';
import { midWork } from './redis-restart.ts';

const exec = promisify(execFile);
const WORKER_ARGS = ['--lock-ms', '2000', '--stalled-ms', '1000'];

export const redisCluster: Scenario = {
  name: 'redis-cluster',
  category: 'fault',
  quick: false,
  async run(ctx, report) {
    const { stdout } = await exec(path.join(repoRoot, 'infra', 'redis', 'start-cluster.sh'), [], { timeout: 120_000 });
    const url = stdout.trim();
    const docs = mixedDocuments(ctx.quick ? 4 : 8, 80, 'rc');
    await Cluster.open(
      {
        brokers: await ctx.brokers(),
        redisUrl: url,
        name: 'redis-cluster',
        chunkTokens: 64,
        workerArgs: WORKER_ARGS,
        redisAccess: { url, origin: 'fault suite', cluster: true },
      },
      async (cluster) => {
        const [first] = await Promise.all([cluster.spawn('rc-w1'), cluster.spawn('rc-w2')]);
        await cluster.submit(docs);
        const inTime = await midWork(cluster, docs, docs.length * 2, 120_000);
        first!.kill('SIGKILL');
        await first!.exited;
        await cluster.spawn('rc-w3');
        const settled = await cluster.settled(docs, ctx.quick ? 180_000 : 400_000);
        const verdict = await cluster.verify(docs);
        report({
          category: 'fault',
          name: 'Redis Cluster (3 masters) end to end, a worker SIGKILLed',
          tries: docs.length,
          identical: verdict.identical,
          refused: 0,
          lost: verdict.lost,
          note:
            `${docs.length} docs on ${url} with --redis-cluster, ${verdict.handovers} handovers, ${verdict.duplicates} duplicate results` +
            (inTime ? '' : '; the documents finished before the kill') +
            (settled ? '' : `; ${cluster.pending(docs).length} never finished`) +
            (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
        });
      },
    );
  },
};
