// A flood of event streams against the cap on live streams: a producer names twice as many streams as a worker
// may hold (--max-streams). The first streams are scored in full; every event of a stream beyond the cap is
// dead-lettered with E_STREAM_LIMIT (and counted in the dead-letter metric), the registry holds exactly the
// cap, and the Redis bytes each live stream costs are reported.
import { Cluster, metricValue } from '../cluster.ts';
import type { Scenario } from '../scenario.ts';
import { EVENT_WORKER_ARGS, sendEvents, streamEvents, waitScored } from './event-streams.ts';

const LIMIT_METRIC = 'rwkvstream_dead_letters_total{stage="ingest",code="E_STREAM_LIMIT"}';

export const streamFlood: Scenario = {
  name: 'stream-flood',
  category: 'bad input',
  quick: true,
  async run(ctx, report) {
    const cap = ctx.quick ? 8 : 40;
    const perStream = ctx.quick ? 3 : 5;
    const problems: string[] = [];
    let scored = 0;
    let refused = 0;
    let bytesPerStream = 0;
    let held = 0;
    await Cluster.open(
      {
        brokers: await ctx.brokers(),
        redisUrl: ctx.redisUrl,
        name: 'stream-flood',
        chunkTokens: 4096,
        workerArgs: [...EVENT_WORKER_ARGS, '--max-streams', String(cap)],
      },
      async (cluster) => {
        const worker = await cluster.spawn('stream-flood-worker');
        const live = Array.from({ length: cap }, (_, i) => `live-${i}`);
        const flood = Array.from({ length: cap }, (_, i) => `flood-${i}`);
        for (const s of live) await sendEvents(cluster.producer, cluster.topics.events, s, streamEvents(perStream));
        for (const s of live) {
          if (await waitScored(cluster, s, perStream, 120_000)) scored++;
          else problems.push(`${s}: not every event scored`);
        }
        for (const s of flood) await sendEvents(cluster.producer, cluster.topics.events, s, streamEvents(perStream));
        // Every flood event dead-lettered with the cap's code, the stream named by the record's key.
        const expected = flood.length * perStream;
        const deadline = Date.now() + 60_000;
        const letters = () =>
          (cluster.collector.records.get(cluster.topics.deadLetter) ?? []).map(
            (r) => JSON.parse(r.value) as { code: string; source?: { keyBase64: string | null } },
          );
        while (letters().length < expected && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 100));
        const byStream = new Map<string, number>();
        for (const letter of letters()) {
          const stream = Buffer.from(letter.source?.keyBase64 ?? '', 'base64').toString();
          if (letter.code !== 'E_STREAM_LIMIT' || !flood.includes(stream))
            problems.push(`unexpected dead letter ${letter.code} for ${stream}`);
          else byStream.set(stream, (byStream.get(stream) ?? 0) + 1);
        }
        for (const s of flood) {
          if (byStream.get(s) === perStream) refused++;
          else problems.push(`${s}: ${byStream.get(s) ?? 0} of ${perStream} events dead-lettered`);
        }
        held = await cluster.redis.zcard(cluster.keys.streams());
        if (held !== cap) problems.push(`the registry holds ${held} streams, the cap is ${cap}`);
        const counted = await metricValue(worker, LIMIT_METRIC);
        if (counted !== expected) problems.push(`${LIMIT_METRIC} is ${counted}, expected ${expected}`);
        for (const s of flood) {
          const left = await cluster.redis.keys(`${cluster.prefix}:{stream:${s}}:*`);
          if (left.length > 0) problems.push(`${s} left keys: ${left.join(', ')}`);
        }
        // What a live stream costs in Redis: every key under its hash tag.
        let bytes = 0;
        for (const s of live) {
          for (const key of await cluster.redis.keys(`${cluster.prefix}:{stream:${s}}:*`))
            bytes += (await cluster.redis.memory('USAGE', key)) ?? 0;
        }
        bytesPerStream = Math.round(bytes / live.length);
        if (!worker.running()) problems.push('the worker exited');
      },
    );
    report({
      category: 'bad input',
      name: 'stream flood beyond --max-streams',
      tries: 2 * cap,
      identical: scored,
      refused,
      lost: problems.length,
      note:
        `${scored} streams scored in full, ${refused} new streams refused (E_STREAM_LIMIT, dead letters and metric), ` +
        `registry held at ${held}/${cap}; Redis ${(bytesPerStream / 1024).toFixed(1)} KiB per live stream (${perStream} events)` +
        (problems.length > 0 ? `; ${problems[0]}` : ''),
    });
  },
};
