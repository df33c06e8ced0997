// Malformed and invalid messages on both input topics, sent between good documents: each lands on the dead-letter
// topic with its code, a reason naming the field, its original bytes and its source, and the good documents
// still come out byte-identical to their references.
import { DOCUMENT_SCHEMA_V1 } from '../../../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../../../schemas/events.ts';
import { Cluster, mixedDocuments } from '../cluster.ts';
import {
  awaitRefusals,
  codeSummary,
  deadLetters,
  letterFor,
  rawProducer,
  type BadRecord,
  type SentRecord,
} from '../refusal-check.ts';
import type { Scenario } from '../scenario.ts';

const doc = (fields: Record<string, unknown>) =>
  JSON.stringify({
    schema: DOCUMENT_SCHEMA_V1,
    id: 'bad',
    task: { kind: 'summarize', maxTokens: 8 },
    body: { kind: 'text', text: 'Some text.' },
    ...fields,
  });
const without = (json: string, field: string) =>
  JSON.stringify(
    Object.fromEntries(Object.entries(JSON.parse(json) as Record<string, unknown>).filter(([k]) => k !== field)),
  );
const classify = (labels: string[]) => doc({ task: { kind: 'classify', labels } });
const event = (fields: Record<string, unknown>) =>
  JSON.stringify({ schema: EVENT_SCHEMA_V1, stream: 'web', text: 'GET / 200', ...fields });

function badRecords(): BadRecord[] {
  const d = (name: string, value: Buffer | string | null, code: string, reason: RegExp): BadRecord => ({
    name,
    topic: 'documents',
    key: 'bad',
    value,
    code,
    reason,
    stage: 'ingest',
  });
  const e = (name: string, value: Buffer | string | null, code: string, reason: RegExp): BadRecord => ({
    name,
    topic: 'events',
    key: 'web',
    value,
    code,
    reason,
    stage: 'ingest',
  });
  const many = Array.from({ length: 65 }, (_, i) => `label-${i}`);
  return [
    d('document: malformed JSON', '{"schema": "rwkvstream.document.v1", "id": ', 'E_JSON', /not JSON/),
    d('document: not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'E_ENCODING', /not valid UTF-8/),
    d('document: no value', null, 'E_NO_VALUE', /no value/),
    d('document: wrong schema version', doc({ schema: 'rwkvstream.document.v2' }), 'E_SCHEMA', /schema:/),
    d('document: missing id', without(doc({}), 'id'), 'E_SCHEMA', /\bid:/),
    d('document: missing body', without(doc({}), 'body'), 'E_SCHEMA', /\bbody:/),
    d('document: missing task', without(doc({}), 'task'), 'E_SCHEMA', /\btask:.*required/),
    d('document: unknown task kind', doc({ task: { kind: 'translate' } }), 'E_SCHEMA', /task\.kind:/),
    d('document: unknown body kind', doc({ body: { kind: 'blob', data: 'x' } }), 'E_SCHEMA', /body\.kind:/),
    d('document: unknown field', doc({ priority: 5 }), 'E_SCHEMA', /priority/),
    d('classify: no labels', classify([]), 'E_SCHEMA', /task\.labels: classify needs at least two labels/),
    d('classify: one label', classify(['sports']), 'E_SCHEMA', /task\.labels: classify needs at least two labels/),
    d('classify: 65 labels', classify(many), 'E_SCHEMA', /task\.labels: .*64/),
    d(
      'classify: duplicated labels',
      classify(['sports', 'finance', 'sports']),
      'E_SCHEMA',
      /task\.labels: labels must be distinct/,
    ),
    d('classify: empty label', classify(['sports', '']), 'E_SCHEMA', /task\.labels\.1:/),
    e('event: malformed JSON', '{"schema": "rwkvstream.event.v1", "stream": "web", ', 'E_JSON', /not JSON/),
    e('event: not UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'E_ENCODING', /not valid UTF-8/),
    e('event: no value', null, 'E_NO_VALUE', /no value/),
    e('event: wrong schema version', event({ schema: 'rwkvstream.event.v0' }), 'E_SCHEMA', /schema:/),
    e('event: missing stream', without(event({}), 'stream'), 'E_SCHEMA', /stream:/),
    e('event: missing text', without(event({}), 'text'), 'E_SCHEMA', /text:/),
    e('event: empty text', event({ text: '' }), 'E_SCHEMA', /text: an event has text/),
    e('event: a task given to an event', event({ task: { kind: 'classify', labels: ['a'] } }), 'E_SCHEMA', /task/),
    e('event: a document message on the events topic', doc({}), 'E_SCHEMA', /stream:/),
    e('event: array instead of an object', '[1, 2, 3]', 'E_SCHEMA', /\(message\)/),
  ];
}

export const badMessages: Scenario = {
  name: 'bad-messages',
  category: 'bad input',
  quick: true,
  async run(ctx, report) {
    const bad = badRecords();
    const good = mixedDocuments(ctx.quick ? 2 : 4, 3, 'good');
    const brokers = await ctx.brokers();
    await Cluster.open({ brokers, redisUrl: ctx.redisUrl, name: 'bad-messages', chunkTokens: 128 }, async (cluster) => {
      await cluster.spawn('bad-messages-worker');
      const producer = await rawProducer(brokers);
      const sent: SentRecord[] = [];
      try {
        // Half the good documents go before the bad records and half after: the consumer must carry on.
        await cluster.submit(good.slice(0, good.length / 2));
        for (const b of bad) sent.push(await producer.send(cluster.topics[b.topic], b.key, b.value));
        await cluster.submit(good.slice(good.length / 2));
      } finally {
        await producer.close();
      }
      const problems = await awaitRefusals(cluster, bad, sent, 90_000);
      const settled = await cluster.settled(good, 120_000);
      const verdict = await cluster.verify(good);
      const goodUnaffected = settled && verdict.lost === 0;
      const refused = goodUnaffected ? problems.filter((p) => p === null).length : 0;
      const failures = [
        ...problems.flatMap((p, i) => (p === null ? [] : [`${bad[i]!.name}: ${p}`])),
        ...verdict.problems,
      ];
      const exampleAt = bad.findIndex((b) => b.name === 'classify: one label');
      const example = letterFor(deadLetters(cluster), bad[exampleAt]!, sent[exampleAt]!);
      ctx.log(`${refused}/${bad.length} refused; good ${verdict.identical}/${good.length} identical`);
      report({
        category: 'bad input',
        name: 'bad messages beside good documents',
        tries: bad.length + good.length,
        identical: verdict.identical,
        refused,
        lost: bad.length + good.length - verdict.identical - refused,
        note:
          failures.length > 0
            ? failures.slice(0, 3).join('; ')
            : `${codeSummary(bad)}; e.g. ${example?.code}: '${example?.reason.replace(/^the message does not match its schema: /, '')}'; ${good.length} good documents identical`,
      });
    });
  },
};
