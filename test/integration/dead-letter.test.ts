// Nothing is dropped silently and nothing stops the consumer: malformed, oversized and otherwise unusable
// records land on the dead-letter topic with the reason, the original bytes and where they came from, and the
// next good record is processed as usual.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DeadLetterSchema, type DeadLetter } from '../../schemas/dead-letter.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { useDeployment } from './helpers/deployment.ts';
import { startTestWorker } from './helpers/worker.ts';

const deployment = useDeployment('dlq', {
  producer: true,
  setUp: async (d) => {
    const worker = await startTestWorker(
      d,
      {},
      {
        maxMessageBytes: 16 * 1024,
        maxEventBytes: 256,
        fileRoots: ['/nonexistent-root-for-tests'],
      },
    );
    d.onTeardown(() => worker.stop());
  },
});
const { topics, collector } = deployment;

interface Sent {
  topic: string;
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: string;
}

async function send(topic: string, key: string | null, value: Buffer | string | null): Promise<Sent> {
  const bytes = value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);
  const [meta] = await deployment.producer.send({ topic, messages: [{ key, value: bytes }] });
  return { topic, key, value: bytes, partition: meta!.partition, offset: meta!.baseOffset! };
}

const doc = (id: string, body: unknown, task: unknown = { kind: 'summarize', maxTokens: 8 }) =>
  JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, task, body });

test('bad records of every kind are dead-lettered with reason, source and original bytes; the consumer carries on', {
  timeout: 180_000,
}, async () => {
  const cases: [Promise<Sent>, string, RegExp][] = [
    [send(topics.documents, 'a', '{"schema": "rwkvstream.document.v1", "id": '), 'E_JSON', /not JSON/],
    [send(topics.documents, 'b', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'E_ENCODING', /UTF-8/],
    [
      send(topics.documents, 'c', doc('c', { kind: 'text', text: 'x' }, { kind: 'classify', labels: ['one'] })),
      'E_SCHEMA',
      /task\.labels/,
    ],
    [send(topics.documents, 'd', doc('d', { kind: 'text', text: 'y'.repeat(40_000) })), 'E_OVERSIZED', /at most 16384/],
    // Close to the broker's own limit: its dead letter (base64, a third larger) still goes out whole.
    [
      send(topics.documents, 'd2', doc('d2', { kind: 'text', text: 'w'.repeat(1_900_000) })),
      'E_OVERSIZED',
      /has 1900\d{3} bytes/,
    ],
    [send(topics.documents, 'not-e', doc('e', { kind: 'text', text: 'x' })), 'E_KEY_MISMATCH', /not the document id/],
    [send(topics.documents, 'f', null), 'E_NO_VALUE', /no value/],
    [
      send(topics.documents, 'g', doc('g', { kind: 'ref', url: 'file:///etc/passwd' })),
      'E_REF_FORBIDDEN',
      /outside the directories/,
    ],
    [send(topics.events, 's', '[1, 2, 3]'), 'E_SCHEMA', /schema/],
    [
      send(topics.events, 's', JSON.stringify({ schema: EVENT_SCHEMA_V1, stream: 's', text: 'z'.repeat(300) })),
      'E_OVERSIZED',
      /at most 256/,
    ],
  ];
  const sent = await Promise.all(cases.map(([s]) => s));
  const good = await send(
    topics.documents,
    'good',
    doc('good', { kind: 'text', text: 'The consumer is still alive after all that.' }),
  );

  const records = await collector.waitFor(topics.deadLetter, (rs) => rs.length >= cases.length, 60_000);
  const letters: DeadLetter[] = records.map((r) => DeadLetterSchema.parse(JSON.parse(r.value)));
  for (const [i, [, code, reason]] of cases.entries()) {
    const s = sent[i]!;
    const letter = letters.find(
      (l) => l.source?.topic === s.topic && l.source.partition === s.partition && l.source.offset === s.offset,
    );
    assert.ok(letter, `a dead letter for case ${i} (${code})`);
    assert.equal(letter.code, code, `case ${i}`);
    assert.match(letter.reason, reason, `case ${i}`);
    assert.equal(letter.source!.keyBase64, s.key === null ? null : Buffer.from(s.key).toString('base64'));
    if (s.value === null) assert.equal(letter.original, null);
    else assert.deepEqual(Buffer.from(letter.original!.base64, 'base64'), s.value, `case ${i}: the original bytes`);
  }
  assert.equal(letters.find((l) => l.code === 'E_REF_FORBIDDEN')!.stage, 'plan');
  assert.ok(letters.filter((l) => l.code !== 'E_REF_FORBIDDEN').every((l) => l.stage === 'ingest'));
  assert.equal(records.find((r) => JSON.parse(r.value).code === 'E_OVERSIZED')!.headers.code, 'E_OVERSIZED');

  const results = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === 'good'), 60_000);
  assert.equal(DocumentResultSchema.parse(JSON.parse(results.find((r) => r.key === 'good')!.value)).id, 'good');
  assert.ok(good.offset !== undefined);
  assert.equal(letters.length, cases.length, 'nothing else was dead-lettered');
});
