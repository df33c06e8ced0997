// Many concurrent documents and a few event streams across several worker processes on the real services:
// end-to-end throughput, chunk latency, Redis memory, each document's chunks committed once and in order, and
// every result byte-identical to its reference (streams: to a control stream of the same events scored alone
// before the load started).
import { kafkaClient } from '../../integration/helpers/services.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import { mib, sampleMemory, watchMemory } from '../redis-memory.ts';
import type { Scenario } from '../scenario.ts';
import { compareWithControl, EVENT_WORKER_ARGS, sendEvents, streamEvents, waitScored } from './event-streams.ts';

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export const load: Scenario = {
  name: 'load',
  category: 'load',
  quick: true,
  async run(ctx, report) {
    const size = ctx.quick
      ? { documents: 8, paragraphs: 8, workers: 2, streams: 2, events: 20 }
      : { documents: 64, paragraphs: 32, workers: 3, streams: 4, events: 60 };
    const docs = mixedDocuments(size.documents, size.paragraphs, 'load');
    const brokers = await ctx.brokers();
    // Debug logs carry each chunk's timings ("chunk committed": load, forward, commit).
    const options = {
      brokers,
      redisUrl: ctx.redisUrl,
      name: 'load',
      chunkTokens: 512,
      workerArgs: [...EVENT_WORKER_ARGS, '--log-level', 'debug'],
    };
    await Cluster.open(options, async (cluster) => {
      const before = await sampleMemory(cluster.redis, cluster.prefix);
      for (let w = 0; w < size.workers; w++) await cluster.spawn(`load-worker-${w}`);
      const producer = kafkaClient(brokers).producer();
      await producer.connect();
      try {
        // The control stream, alone, before the load.
        const events = streamEvents(size.events);
        await sendEvents(producer, cluster.topics.events, 'control', events);
        if (!(await waitScored(cluster, 'control', events.length, 120_000)))
          throw new Error('the control stream was not scored in 120 s');

        const memory = watchMemory(cluster.redis, cluster.prefix);
        const started = performance.now();
        const streams = Array.from({ length: size.streams }, (_, s) => `load-stream-${s}`);
        await Promise.all([
          cluster.submit(docs),
          ...streams.map((stream) => sendEvents(producer, cluster.topics.events, stream, events)),
        ]);
        const settled = await cluster.settled(docs, ctx.quick ? 240_000 : 900_000);
        const docsSeconds = (performance.now() - started) / 1000;
        const streamsDone = await Promise.all(
          streams.map((stream) => waitScored(cluster, stream, events.length, 120_000)),
        );
        const { first, peak } = await memory.stop();
        const after = await sampleMemory(cluster.redis, cluster.prefix);

        const verdict = await cluster.verify(docs);
        const streamProblems = streams.map((stream, i) =>
          streamsDone[i]
            ? compareWithControl(cluster, 'control', stream, events.length).problem
            : `${stream}: not every event scored`,
        );
        const streamsIdentical = streamProblems.filter((p) => p === null).length;
        const tokens = docs.reduce((sum, d) => sum + Buffer.byteLength(d.text), 0);
        const chunkMs = cluster
          .logged('chunk committed')
          .map((e) => Number(e.loadMs ?? 0) + Number(e.forwardMs ?? 0) + Number(e.commitMs ?? 0))
          .sort((a, b) => a - b);
        const problems = [
          ...(settled ? [] : ['not every document settled']),
          ...verdict.problems,
          ...streamProblems.filter((p) => p !== null),
        ];
        const tries = docs.length + streams.length;
        const identical = verdict.identical + streamsIdentical;
        ctx.log(`${identical}/${tries} identical; ${(tokens / docsSeconds).toFixed(0)} tokens/s`);
        report({
          category: 'load',
          name: `${docs.length} documents + ${streams.length} event streams on ${size.workers} workers`,
          tries,
          identical,
          refused: 0,
          lost: tries - identical,
          note: [
            ...(problems.length > 0 ? [`${problems.length} problems: ${problems.slice(0, 2).join('; ')}`] : []),
            `${tokens.toLocaleString('en')} tokens in ${docsSeconds.toFixed(1)} s: ${(tokens / docsSeconds).toFixed(0)} tokens/s end to end`,
            `chunk p50 ${percentile(chunkMs, 0.5).toFixed(0)} ms / p99 ${percentile(chunkMs, 0.99).toFixed(0)} ms (${chunkMs.length} chunks)`,
            `Redis used_memory before/peak/after ${mib(before.usedBytes)}/${mib(peak.usedBytes)}/${mib(after.usedBytes)} MiB (whole server), prefix ${mib(first.prefixBytes)}/${mib(peak.prefixBytes)}/${mib(after.prefixBytes)} MiB in up to ${peak.prefixKeys} keys`,
            `audit trails in order, ${verdict.handovers} handovers, ${verdict.duplicates} duplicate results`,
            `${streams.length}×${events.length} events identical to the control: ${streamsIdentical}/${streams.length}`,
          ].join('; '),
        });
      } finally {
        await producer.disconnect();
      }
    });
  },
};
