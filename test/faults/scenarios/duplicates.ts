// At-least-once input. Documents submitted again under their id with the same bytes and task (before, while
// and after they run) give one result each, identical to the reference; a different body under a used id is
// refused with E_DUPLICATE_ID while its original keeps its result. Events a producer wrote twice (same id, new
// record) are scored once, exactly as a control stream of the same events written once.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Producer } from 'kafkajs';

import { DeadLetterSchema } from '../../../schemas/dead-letter.ts';
import { kafkaClient } from '../../integration/helpers/services.ts';
import { Cluster, mixedDocuments, type FaultDocument } from '../cluster.ts';
import { referenceResult } from '../reference.ts';
import type { Scenario } from '../scenario.ts';
import {
  compareWithControl,
  EVENT_WORKER_ARGS,
  eventRecord,
  sendEvents,
  streamEvents,
  waitScored,
} from './event-streams.ts';

const CHUNK_TOKENS = 96;

export const duplicates: Scenario = {
  name: 'duplicates',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const brokers = await ctx.brokers();
    await Cluster.open(
      { brokers, redisUrl: ctx.redisUrl, name: 'dup', chunkTokens: CHUNK_TOKENS, workerArgs: EVENT_WORKER_ARGS },
      async (cluster) => {
        const docs = mixedDocuments(ctx.quick ? 4 : 8, ctx.quick ? 16 : 24, 'dup');
        const conflict: FaultDocument = {
          id: 'dup-conflict',
          text: 'The original body of a document whose id is reused.\n'.repeat(6),
          task: { kind: 'summarize', maxTokens: 12 },
        };
        const all = [...docs, conflict];
        // References first (one process at a time on the CPU), so the worker runs undisturbed by them.
        for (const doc of all) await referenceResult({ ...doc, chunkTokens: CHUNK_TOKENS });
        await cluster.spawn('dup-w1');

        // Before: each document written twice in a row, as a producer retrying a lost acknowledgement would.
        let submissions = 0;
        await cluster.submit(all);
        await cluster.submit(all);
        submissions += 2;
        // During: again as soon as the first chunk of the last document committed, while chunks run.
        const last = docs.at(-1)!;
        const deadline = Date.now() + 120_000;
        while ((await cluster.audit(last.id)).length === 0 && Date.now() < deadline) await sleep(20);
        const running = cluster.pending(docs).length;
        await cluster.submit(docs);
        submissions++;
        if (!(await cluster.settled(all, 240_000)))
          ctx.log(
            `still pending: ${cluster
              .pending(all)
              .map((d) => d.id)
              .join(', ')}`,
          );
        // After: once more, and a different body under the conflict document's id.
        await cluster.submit(docs);
        submissions++;
        await cluster.submit([{ ...conflict, text: 'A different body under the same id.\n' }]);
        const letter = await waitForLetter(cluster, conflict.id, 60_000);
        // Time for any extra result of the late submissions to show up (there must be none).
        await sleep(3000);

        const verdict = await cluster.verify(docs);
        const extra = docs.filter((d) => cluster.resultsOf(d.id).length > 1);
        for (const d of extra) verdict.problems.push(`${d.id}: ${cluster.resultsOf(d.id).length} results`);
        report({
          category: 'fault',
          name: 'document submitted again under its id (same bytes and task)',
          tries: docs.length,
          identical: verdict.identical - extra.length,
          refused: 0,
          lost: verdict.lost + extra.length,
          note:
            `${submissions} submissions each (2 before, 1 with ${running} still running, 1 after); ${verdict.duplicates} extra results` +
            (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
        });

        const conflictResults = cluster.resultsOf(conflict.id);
        const reference = await referenceResult({ ...conflict, chunkTokens: CHUNK_TOKENS });
        const refusedOk =
          letter !== null &&
          letter.code === 'E_DUPLICATE_ID' &&
          letter.reason.length > 0 &&
          conflictResults.length === 1 &&
          conflictResults[0] === reference &&
          verdict.lost === 0;
        report({
          category: 'bad input',
          name: 'different body under a used document id',
          tries: 1,
          identical: 0,
          refused: refusedOk ? 1 : 0,
          lost: refusedOk ? 0 : 1,
          note:
            letter === null
              ? 'no dead letter'
              : `${letter.code}: '${letter.reason.slice(0, 120)}'; original kept ${conflictResults.length} result(s), ${conflictResults[0] === reference ? 'identical' : 'DIFFERENT'}`,
        });

        // Events: the control stream first, written once, then the same events with duplicates.
        const count = ctx.quick ? 12 : 30;
        const events = streamEvents(count);
        const producer: Producer = kafkaClient(brokers).producer();
        await producer.connect();
        try {
          await sendEvents(producer, cluster.topics.events, 'dup/control', events);
          await waitScored(cluster, 'dup/control', count, 120_000);
          // Every third event written twice at once, every fifth again a few events later (a retry after a timeout).
          let duplicatesSent = 0;
          for (let i = 0; i < count; i++) {
            const messages = [eventRecord('dup/stream', events[i]!)];
            if (i % 3 === 0) messages.push(eventRecord('dup/stream', events[i]!));
            if (i >= 3 && (i - 3) % 5 === 0) messages.push(eventRecord('dup/stream', events[i - 3]!));
            duplicatesSent += messages.length - 1;
            await producer.send({ topic: cluster.topics.events, acks: -1, messages });
          }
          await waitScored(cluster, 'dup/stream', count, 120_000);
          // Anything scored twice would come after the last first-seen event: give it time to show.
          await sleep(2000);
          const stream = compareWithControl(cluster, 'dup/control', 'dup/stream', count);
          report({
            category: 'fault',
            name: 'event written twice (same id, new record)',
            tries: count,
            identical: stream.problem === null ? count : 0,
            refused: 0,
            lost: stream.problem === null ? 0 : count,
            note:
              `${duplicatesSent} duplicates sent, ${count} events scored once each; ${stream.republished} batches republished` +
              (stream.problem === null ? '' : `; ${stream.problem}`),
          });
        } finally {
          await producer.disconnect();
        }
      },
    );
  },
};

async function waitForLetter(cluster: Cluster, id: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const letters = cluster.deadLettersOf(id);
    if (letters.length > 0) return DeadLetterSchema.parse(JSON.parse(letters[0]!));
    await sleep(100);
  }
  return null;
}
