// Dead letters too large for the dead-letter topic, between good documents: the scenario lowers the topic's
// max.message.bytes (64 KiB) before the worker starts and checks that the broker now refuses a record of that
// size, then sends records the worker refuses (E_OVERSIZED, --max-message-bytes 16 KiB) whose letters, with the
// original bytes in base64, are far past that limit. Each must still leave a letter: a reference on the topic
// (no original, `stored` naming the Redis key and the reason) and the whole letter, original bytes included,
// in Redis with an expiry. A small refusal still goes out whole, the consumer goes on, and the good documents
// come out byte-identical to their references.
import kafkajs from 'kafkajs';

import { DeadLetterSchema } from '../../../schemas/dead-letter.ts';
import { kafkaClient } from '../../integration/helpers/services.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import { awaitRefusals, deadLetters, rawProducer, type BadRecord, type SentRecord } from '../refusal-check.ts';
import type { Scenario } from '../scenario.ts';

const TOPIC_LIMIT = 64 * 1024;
const MAX_MESSAGE_BYTES = 16 * 1024;

/** Sets the dead-letter topic's limit, then proves the broker enforces it: a record of that size is refused. */
async function lowerLimit(brokers: string[], topic: string): Promise<string | null> {
  const kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_LIMIT) }],
        },
      ],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue;
    if (value !== String(TOPIC_LIMIT)) return `max.message.bytes of ${topic} is ${value}, not ${TOPIC_LIMIT}`;
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'probe', value: Buffer.alloc(TOPIC_LIMIT + 1024, 0x61) }],
    });
    return `the broker accepted a ${TOPIC_LIMIT + 1024}-byte record on ${topic}`;
  } catch (err) {
    const types: string[] = [];
    for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
      types.push(e.type ?? '');
    return types.some((t) => t === 'MESSAGE_TOO_LARGE' || t === 'RECORD_LIST_TOO_LARGE')
      ? null
      : `the probe failed otherwise: ${(err as Error).message}`;
  } finally {
    await producer.disconnect();
  }
}

export const oversizedDeadLetter: Scenario = {
  name: 'oversized-dead-letter',
  category: 'bad input',
  quick: false,
  async run(ctx, report) {
    const sizes = ctx.quick ? [80 * 1024, 300 * 1024] : [80 * 1024, 200 * 1024, 400 * 1024, 900 * 1024];
    const big: BadRecord[] = sizes.map((size, i) => ({
      name: `a ${Math.round(size / 1024)} KiB record`,
      topic: 'documents',
      key: `big-${i}`,
      value: `{"schema":"rwkvstream.document.v1","id":"big-${i}","note":"${'z'.repeat(size)}"}`,
      code: 'E_OVERSIZED',
      reason: /at most 16384 are accepted/,
      stage: 'ingest',
    }));
    const small: BadRecord = {
      name: 'a small malformed record',
      topic: 'documents',
      key: 'small-bad',
      value: '{"schema": ',
      code: 'E_JSON',
      reason: /not JSON/,
      stage: 'ingest',
    };
    const good = mixedDocuments(ctx.quick ? 2 : 4, 3, 'dlo');
    const brokers = await ctx.brokers();
    const problems: string[] = [];
    let byReference = 0;
    let storedBytes = 0;
    let smallWhole = false;
    let identical = 0;
    await Cluster.open(
      {
        brokers,
        redisUrl: ctx.redisUrl,
        name: 'dl-oversize',
        chunkTokens: 128,
        workerArgs: ['--max-message-bytes', String(MAX_MESSAGE_BYTES)],
      },
      async (cluster) => {
        const limitProblem = await lowerLimit(brokers, cluster.topics.deadLetter);
        if (limitProblem) problems.push(limitProblem);
        const worker = await cluster.spawn('dl-oversize-worker');
        const producer = await rawProducer(brokers);
        const sent: SentRecord[] = [];
        try {
          await cluster.submit(good.slice(0, good.length / 2));
          for (const b of [...big, small]) sent.push(await producer.send(cluster.topics[b.topic], b.key, b.value));
          await cluster.submit(good.slice(good.length / 2));
        } finally {
          await producer.close();
        }
        // The small one is checked as any refusal; the big ones carry a reference instead of their bytes.
        const [smallProblem] = await awaitRefusals(cluster, [small], [sent.at(-1)!], 90_000);
        if (smallProblem) problems.push(`${small.name}: ${smallProblem}`);
        else smallWhole = true;
        const deadline = Date.now() + 90_000;
        const letterOf = (s: SentRecord) =>
          deadLetters(cluster).find(
            (l) => l.source?.topic === s.topic && l.source.partition === s.partition && l.source.offset === s.offset,
          );
        while (big.some((_, i) => !letterOf(sent[i]!)) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 200));
        for (const [i, b] of big.entries()) {
          const letter = letterOf(sent[i]!);
          const problem = await (async () => {
            if (!letter) return 'no dead letter';
            if (letter.code !== b.code || !b.reason.test(letter.reason))
              return `${letter.code}: ${letter.reason.slice(0, 120)}`;
            if (letter.original !== undefined) return 'the letter on the topic carries the original (not by reference)';
            if (!letter.stored) return 'no reference (stored) in the letter';
            if (!/more than the dead-letter topic accepts/.test(letter.stored.reason))
              return `stored with reason "${letter.stored.reason}"`;
            const kept = await cluster.redis.hgetall(letter.stored.redisKey);
            if (!kept.letter) return `nothing stored under ${letter.stored.redisKey}`;
            const whole = DeadLetterSchema.parse(JSON.parse(kept.letter));
            if (!whole.original || !Buffer.from(whole.original.base64, 'base64').equals(sent[i]!.value!))
              return 'the stored letter does not carry the original bytes';
            if (kept.reason !== letter.stored.reason) return 'the stored reason differs';
            if ((await cluster.redis.ttl(letter.stored.redisKey)) <= 0) return 'the stored letter never expires';
            storedBytes += letter.stored.bytes;
            return null;
          })();
          if (problem === null) byReference++;
          else problems.push(`${b.name}: ${problem}`);
        }
        const settled = await cluster.settled(good, 120_000);
        const verdict = await cluster.verify(good);
        identical = verdict.identical;
        if (!settled) problems.push(`${cluster.pending(good).length} good documents never finished`);
        problems.push(...verdict.problems);
        if (!worker.running()) problems.push('the worker exited');
      },
    );
    const refused = problems.length === 0 ? byReference + (smallWhole ? 1 : 0) : 0;
    const tries = big.length + 1 + good.length;
    report({
      category: 'bad input',
      name: "oversized dead letter (past the dead-letter topic's max.message.bytes)",
      tries,
      identical,
      refused,
      lost: tries - identical - refused,
      note:
        problems.length > 0
          ? problems.slice(0, 3).join('; ')
          : `topic limit ${TOPIC_LIMIT / 1024} KiB (the broker refused a larger probe); ${byReference} letters of ${(storedBytes / 1024).toFixed(0)} KiB in all ` +
            `stored in Redis by reference (original bytes kept, expiring), the small refusal published whole; ${identical} good documents identical`,
    });
  },
};
