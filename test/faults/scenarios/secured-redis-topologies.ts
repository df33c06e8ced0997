// Secured Redis topologies from the project's infra, end to end on the shared Kafka: a Redis Cluster of three
// masters that speaks only TLS (client ports and cluster bus), requires a client certificate and serves only an
// ACL user (start-cluster-secure.sh), and a TLS master found through three TLS Sentinels with their own password
// (start-sentinel.sh). Two workers configured by the environment the scripts printed read documents; each must
// end with its reference result and one commit per chunk, and no log line may show a password.
import path from 'node:path';

import { startSecuredRedis, stopSecuredRedis, type SecuredRedis } from '../../integration/helpers/secured-redis.ts';
import { Cluster, mixedDocuments, type FaultDocument } from '../cluster.ts';
import { onInterrupt } from '../interrupt.ts';
import type { Row } from '../report.ts';
import type { Scenario } from '../scenario.ts';

interface Topology {
  name: string;
  start: string;
  stop: string;
  env: Record<string, string>;
}

async function endToEnd(
  secured: SecuredRedis,
  topology: Topology,
  docs: FaultDocument[],
  brokers: string[],
): Promise<Row> {
  let row: Row | null = null;
  await Cluster.open(
    {
      brokers,
      redisUrl: secured.env.REDIS_URL!,
      name: topology.start.replace(/^start-|\.sh$/g, ''),
      chunkTokens: 64,
      env: secured.env,
      redisAccess: secured.access,
    },
    async (cluster) => {
      await Promise.all([cluster.spawn(`${cluster.prefix}-w1`), cluster.spawn(`${cluster.prefix}-w2`)]);
      await cluster.submit(docs);
      const settled = await cluster.settled(docs, 300_000);
      const verdict = await cluster.verify(docs);
      const logs = cluster.processes.flatMap((w) => w.logs.map((e) => JSON.stringify(e)));
      const leaked = secured.secrets.filter((s) => logs.some((l) => l.includes(s))).length;
      const where = secured.env.REDIS_SENTINELS
        ? `${secured.env.REDIS_SENTINEL_NAME} via ${secured.env.REDIS_SENTINELS}`
        : secured.env.REDIS_URL;
      row = {
        category: 'fault',
        name: topology.name,
        tries: docs.length,
        identical: leaked === 0 ? verdict.identical : 0,
        refused: 0,
        lost: leaked === 0 ? verdict.lost : docs.length,
        note:
          `${docs.length} docs on ${where}, ${verdict.duplicates} duplicate results; ${leaked} passwords seen in ${logs.length} log lines` +
          (settled ? '' : `; ${cluster.pending(docs).length} never finished`) +
          (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
      };
    },
  );
  if (!row) throw new Error(`${topology.name}: no outcome`);
  return row;
}

export const securedRedisTopologies: Scenario = {
  name: 'secured-redis-topologies',
  category: 'fault',
  quick: false,
  async run(ctx, report) {
    const brokers = await ctx.brokers();
    const topologies: Topology[] = [
      {
        name: 'Redis Cluster over TLS (client certificate, ACL user) end to end',
        start: 'start-cluster-secure.sh',
        stop: 'stop-cluster-secure.sh',
        env: { REDIS_CLUSTER_DIR: path.join(ctx.tmp, 'cluster') },
      },
      {
        name: 'Redis behind three TLS Sentinels (ACL user, Sentinel password) end to end',
        start: 'start-sentinel.sh',
        stop: 'stop-sentinel.sh',
        env: { REDIS_SENTINEL_DIR: path.join(ctx.tmp, 'sentinel') },
      },
    ];
    for (const topology of topologies) {
      // The servers' data lives in the scenario's scratch directory: they are stopped (and wiped) before it goes.
      const stop = () => stopSecuredRedis(topology.stop, topology.env);
      const forget = onInterrupt(`the servers of ${topology.start}`, stop);
      try {
        const secured = await startSecuredRedis(topology.start, topology.env);
        report(await endToEnd(secured, topology, mixedDocuments(ctx.quick ? 2 : 4, 40, 'tls'), brokers));
      } finally {
        await stop().catch(() => {});
        forget();
      }
    }
  },
};
