// Consumer-group rebalances while work runs: documents and events keep arriving while a second and a third
// ingest consumer (`rwkvstream worker --roles ingest`) join the group and one of them leaves again. Partitions
// move between consumers each time, and records whose offsets were not committed yet are delivered again to
// the new owner. Every document must have exactly one result, identical to its reference, with one commit per
// chunk; every event must be scored once, exactly as a control stream of the same events scored before.
import { setTimeout as sleep } from 'node:timers/promises';

import { kafkaClient } from '../../integration/helpers/services.ts';
import { Cluster, mixedDocuments, stopWorker } from '../cluster.ts';
import { referenceResult } from '../reference.ts';
import type { Scenario } from '../scenario.ts';
import { compareWithControl, EVENT_WORKER_ARGS, sendEvents, streamEvents, waitScored } from './event-streams.ts';

const CHUNK_TOKENS = 96;

export const rebalance: Scenario = {
  name: 'rebalance',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const brokers = await ctx.brokers();
    await Cluster.open(
      { brokers, redisUrl: ctx.redisUrl, name: 'rebal', chunkTokens: CHUNK_TOKENS, workerArgs: EVENT_WORKER_ARGS },
      async (cluster) => {
        const docs = mixedDocuments(ctx.quick ? 8 : 16, ctx.quick ? 12 : 20, 'rebal');
        const waves = [
          docs.slice(0, docs.length / 4),
          docs.slice(docs.length / 4, docs.length / 2),
          docs.slice(docs.length / 2, (3 * docs.length) / 4),
          docs.slice((3 * docs.length) / 4),
        ];
        for (const doc of docs) await referenceResult({ ...doc, chunkTokens: CHUNK_TOKENS });
        const count = ctx.quick ? 16 : 40;
        const events = streamEvents(count, 1);
        const streams = ['rebal/a', 'rebal/b', 'rebal/c'];

        await cluster.spawn('rebal-w1');
        const producer = kafkaClient(brokers).producer();
        await producer.connect();
        try {
          // The control stream goes through while the group is stable.
          await sendEvents(producer, cluster.topics.events, 'rebal/control', events);
          if (!(await waitScored(cluster, 'rebal/control', count, 120_000)))
            throw new Error('the control stream was not scored in 120 s');

          // Events trickle in for the whole run, one stream after the other per step.
          // The last events wait for the last move, so some arrive after the group changed for the last time.
          let sending = true;
          let movesDone!: () => void;
          const lastMove = new Promise<void>((resolve) => (movesDone = resolve));
          const trickle = (async () => {
            for (let i = 0; i < count; i++) {
              if (i === count - 4) await lastMove;
              for (const stream of streams) await sendEvents(producer, cluster.topics.events, stream, [events[i]!]);
              await sleep(ctx.quick ? 150 : 250);
            }
            sending = false;
          })();

          const moves: string[] = [];
          await cluster.submit(waves[0]!);
          const second = await cluster.spawn('rebal-ingest-2', ['--roles', 'ingest']);
          moves.push('ingest-2 joined');
          await cluster.submit(waves[1]!);
          await cluster.spawn('rebal-ingest-3', ['--roles', 'ingest']);
          moves.push('ingest-3 joined');
          await cluster.submit(waves[2]!);
          // Give the third consumer its partitions before the second leaves (a leave is then a real move).
          await sleep(1000);
          await stopWorker(second);
          moves.push(`ingest-2 left${sending ? ' (events still arriving)' : ''}`);
          movesDone();
          await cluster.submit(waves[3]!);
          await trickle;
          const runningAtEnd = cluster.pending(docs).length;

          const settled = await cluster.settled(docs, 300_000);
          const scored = await Promise.all(streams.map((s) => waitScored(cluster, s, count, 120_000)));
          // Anything processed twice would arrive after the rest: give it time to show.
          await sleep(3000);

          const verdict = await cluster.verify(docs);
          const twice = docs.filter((d) => cluster.resultsOf(d.id).length > 1);
          const problems = [
            ...verdict.problems,
            ...twice.map((d) => `${d.id}: ${cluster.resultsOf(d.id).length} results`),
          ];
          if (!settled)
            problems.push(
              `not settled in 300 s: ${cluster
                .pending(docs)
                .map((d) => d.id)
                .join(', ')}`,
            );
          report({
            category: 'fault',
            name: 'consumer group rebalance: documents',
            tries: docs.length,
            identical: verdict.identical - twice.length,
            refused: 0,
            lost: verdict.lost + twice.length,
            note:
              `${moves.join(', ')} (${runningAtEnd} documents still running after the last move); ` +
              `${verdict.handovers} chunk handovers, ${verdict.duplicates} extra results` +
              (problems.length > 0 ? `; ${problems[0]}` : ''),
          });

          const verdicts = streams.map((s) => compareWithControl(cluster, 'rebal/control', s, count));
          const bad = verdicts
            .map((v, i) => (v.problem === null ? null : `${streams[i]}: ${v.problem}`))
            .filter((p) => p !== null);
          const lostEvents = verdicts.filter((v) => v.problem !== null).length * count;
          report({
            category: 'fault',
            name: 'consumer group rebalance: events',
            tries: streams.length * count,
            identical: streams.length * count - lostEvents,
            refused: 0,
            lost: lostEvents,
            note:
              `${streams.length} streams × ${count} events, each scored once (${scored.filter(Boolean).length}/${streams.length} complete); ` +
              `${verdicts.reduce((n, v) => n + v.republished, 0)} batches republished` +
              (bad.length > 0 ? `; ${bad[0]}` : ''),
          });
        } finally {
          await producer.disconnect();
        }
      },
    );
  },
};
