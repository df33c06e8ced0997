// The Kafka broker stops in the middle of ingest and comes back about 10 s later: documents and events are
// still being submitted and chunks are running. The scenario runs its own broker (the shared one serves
// others), stopped cleanly without wiping its log, so the restarted broker has the topics and the committed
// offsets. The submitter retries what failed; workers must ride it out: every document's result equal to its
// reference, every event scored once exactly as a control stream scored before the stop, no dead letter, and
// every worker still running.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { kafkaClient } from '../../integration/helpers/services.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import { onInterrupt } from '../interrupt.ts';
import { referenceResult } from '../reference.ts';
import type { Scenario, SuiteContext } from '../scenario.ts';
import {
  compareWithControl,
  EVENT_WORKER_ARGS,
  sendEvents,
  sendWithRetry,
  streamEvents,
  waitScored,
} from './event-streams.ts';

const exec = promisify(execFile);
const CHUNK_TOKENS = 96;
const PORT = 39192;
const DOWN_MS = 10_000;

function brokerEnv(ctx: SuiteContext): NodeJS.ProcessEnv {
  return { ...process.env, KAFKA_PORT: String(PORT), KAFKA_DATA_DIR: path.join(ctx.tmp, 'kafka') };
}

async function startBroker(ctx: SuiteContext): Promise<string> {
  forgetBroker ??= onInterrupt(`the scenario broker on port ${PORT}`, () => stopBroker(ctx));
  const { stdout } = await exec(path.join(repoRoot, 'infra', 'kafka', 'start.sh'), [], {
    env: brokerEnv(ctx),
    timeout: 180_000,
  });
  return stdout.trim().split('\n').at(-1)!;
}

/** Unregisters the broker's stop on interruption (set while the scenario's broker may be running). */
let forgetBroker: (() => void) | undefined;

/** A clean stop that keeps the data directory: the restart finds the topics and committed offsets. */
async function stopBroker(ctx: SuiteContext): Promise<void> {
  await exec(path.join(repoRoot, 'infra', 'kafka', 'stop.sh'), [], { env: brokerEnv(ctx), timeout: 60_000 });
}

export const kafkaRestart: Scenario = {
  name: 'kafka-restart',
  category: 'fault',
  quick: false,
  async run(ctx, report) {
    const address = await startBroker(ctx);
    try {
      await Cluster.open(
        {
          brokers: [address],
          redisUrl: ctx.redisUrl,
          name: 'kafkart',
          chunkTokens: CHUNK_TOKENS,
          workerArgs: EVENT_WORKER_ARGS,
        },
        async (cluster) => {
          const docs = mixedDocuments(ctx.quick ? 8 : 16, ctx.quick ? 14 : 20, 'kr');
          for (const doc of docs) await referenceResult({ ...doc, chunkTokens: CHUNK_TOKENS });
          const count = ctx.quick ? 16 : 30;
          const events = streamEvents(count, 2);
          const streams = ['kr/a', 'kr/b'];
          const workers = [await cluster.spawn('kr-w1'), await cluster.spawn('kr-w2')];

          const producer = kafkaClient([address]).producer();
          await producer.connect();
          try {
            await sendEvents(producer, cluster.topics.events, 'kr/control', events);
            if (!(await waitScored(cluster, 'kr/control', count, 120_000)))
              throw new Error('the control stream was not scored in 120 s');

            // Submission goes on through the outage: whatever fails is sent again until the broker is back.
            let failedSends = 0;
            const retryFor = 180_000;
            const submitting = (async () => {
              for (const doc of docs) {
                failedSends += await sendWithRetry(() => cluster.submit([doc]), retryFor);
                await sleep(300);
              }
            })();
            const trickling = (async () => {
              for (let i = 0; i < count; i++) {
                for (const stream of streams)
                  failedSends += await sendEvents(producer, cluster.topics.events, stream, [events[i]!], retryFor);
                await sleep(400);
              }
            })();

            // Stop once chunks are running and part of the input is still to come.
            const deadline = Date.now() + 120_000;
            while ((await cluster.audit(docs[1]!.id)).length === 0 && Date.now() < deadline) await sleep(50);
            const runningAtStop = cluster.pending(docs).length;
            const stoppedAt = Date.now();
            await stopBroker(ctx);
            await sleep(DOWN_MS);
            await startBroker(ctx);
            const downSeconds = (Date.now() - stoppedAt) / 1000;
            await Promise.all([submitting, trickling]);

            const settled = await cluster.settled(docs, 300_000);
            const scored = await Promise.all(streams.map((s) => waitScored(cluster, s, count, 180_000)));
            await sleep(3000);

            const alive = workers.filter((w) => cluster.live.includes(w)).length;
            const letters = cluster.collector.records.get(cluster.topics.deadLetter) ?? [];
            const verdict = await cluster.verify(docs);
            const problems = [...verdict.problems];
            if (!settled)
              problems.push(
                `not settled: ${cluster
                  .pending(docs)
                  .map((d) => d.id)
                  .join(', ')}`,
              );
            if (alive < workers.length)
              problems.push(
                `${workers.length - alive} worker(s) exited: ${JSON.stringify(workers.flatMap((w) => lastWords(w.logs)))}`.slice(
                  0,
                  600,
                ),
              );
            if (letters.length > 0) problems.push(`${letters.length} dead letters: ${letters[0]!.value.slice(0, 200)}`);
            const sharedLoss = alive < workers.length || letters.length > 0;
            const figures =
              `broker down ${downSeconds.toFixed(1)} s with ${runningAtStop} of ${docs.length} documents unfinished; ${failedSends} sends failed and were retried; ` +
              `${alive}/${workers.length} workers alive, ${letters.length} dead letters`;
            report({
              category: 'fault',
              name: 'kafka broker stopped ~10 s mid-ingest: documents',
              tries: docs.length,
              identical: sharedLoss ? 0 : verdict.identical,
              refused: 0,
              lost: sharedLoss ? docs.length : verdict.lost,
              note:
                `${figures}; ${verdict.duplicates} identical republished results, ${verdict.handovers} handovers` +
                (problems.length > 0 ? `; ${problems[0]}` : ''),
            });

            const verdicts = streams.map((s) => compareWithControl(cluster, 'kr/control', s, count));
            const bad = verdicts
              .map((v, i) => (v.problem === null ? null : `${streams[i]}: ${v.problem}`))
              .filter((p) => p !== null);
            const lostEvents = sharedLoss
              ? streams.length * count
              : verdicts.filter((v) => v.problem !== null).length * count;
            report({
              category: 'fault',
              name: 'kafka broker stopped ~10 s mid-ingest: events',
              tries: streams.length * count,
              identical: streams.length * count - lostEvents,
              refused: 0,
              lost: lostEvents,
              note:
                `${streams.length} streams × ${count} events (${scored.filter(Boolean).length}/${streams.length} complete), each scored once; ` +
                `${verdicts.reduce((n, v) => n + v.republished, 0)} batches republished` +
                (bad.length > 0 ? `; ${bad[0]}` : ''),
            });
          } finally {
            await producer.disconnect().catch(() => {});
          }
        },
      );
    } finally {
      await stopBroker(ctx).catch((err: Error) => ctx.log(`could not stop the scenario's broker: ${err.message}`));
      forgetBroker?.();
      forgetBroker = undefined;
    }
  },
};

/** How a worker ended: its errors and anything not logged as JSON (a stack trace), then the exit code or signal. */
function lastWords(logs: Record<string, unknown>[]): Record<string, unknown>[] {
  return logs.filter((l) => typeof l.level !== 'number' || l.level >= 50).slice(-4);
}
