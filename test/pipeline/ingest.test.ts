// The input side on memory ports: every way a record can be wrong ends in a dead letter with its reason and
// bytes; whole, parted and referenced documents become one plan job; events are taken in once and scheduled.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeRecord, ingestDocumentRecord, ingestEventRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { DocumentMessageSchema, DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { EVENT_SCHEMA_V1 } from '../../schemas/events.ts';
import { memoryIngest } from './memory-ports.ts';

let offset = 0;
function record(value: unknown, key: string | null = null, topic = 'docs'): RawRecord {
  const bytes =
    value === null
      ? null
      : Buffer.isBuffer(value)
        ? value
        : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return {
    topic,
    partition: 0,
    offset: String(offset++),
    key: key === null ? null : Buffer.from(key),
    value: bytes,
    timestamp: '0',
  };
}

const summarize = { kind: 'summarize' } as const;

test('decodeRecord gives each kind of bad record its own code', () => {
  const cases: [RawRecord, string][] = [
    [record(null), 'E_NO_VALUE'],
    [record('x'.repeat(2000)), 'E_OVERSIZED'],
    [record(Buffer.from([0xff, 0xfe, 0x7b])), 'E_ENCODING'],
    [record('{"schema":'), 'E_JSON'],
    [record({ schema: DOCUMENT_SCHEMA_V1, id: 'a b', task: summarize, body: { kind: 'text', text: 'x' } }), 'E_SCHEMA'],
    [
      record({ schema: 'rwkvstream.document.v0', id: 'a', task: summarize, body: { kind: 'text', text: 'x' } }),
      'E_SCHEMA',
    ],
  ];
  for (const [r, code] of cases) {
    assert.throws(
      () => decodeRecord(r, DocumentMessageSchema, 1024),
      (err: { code?: string }) => err.code === code,
      code,
    );
  }
});

test('rejected document records land in the dead letters with reason, source and original bytes', async () => {
  const p = memoryIngest({ maxMessageBytes: 4096 });
  const bad = [
    record('not json at all'),
    record({
      schema: DOCUMENT_SCHEMA_V1,
      id: 'd1',
      task: { kind: 'classify', labels: ['only-one'] },
      body: { kind: 'text', text: 'x' },
    }),
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'd2', task: summarize, body: { kind: 'text', text: 'y'.repeat(5000) } }),
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'd3', task: summarize, body: { kind: 'text', text: 'x' } }, 'another-key'),
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'd4', task: summarize, body: { kind: 'text', text: '' } }),
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'd5', task: summarize, body: { kind: 'ref', url: 'ftp://host/x' } }),
  ];
  for (const r of bad) await ingestDocumentRecord(r, p.deps);
  assert.deepEqual(
    p.sinks.deadLetters.map((d) => d.code),
    ['E_JSON', 'E_SCHEMA', 'E_OVERSIZED', 'E_KEY_MISMATCH', 'E_EMPTY_DOCUMENT', 'E_SCHEMA'],
  );
  p.sinks.deadLetters.forEach((letter, i) => {
    assert.equal(letter.stage, 'ingest');
    assert.ok(letter.reason.length > 10, letter.reason);
    assert.equal(letter.source?.offset, bad[i]!.offset);
    assert.deepEqual(Buffer.from(letter.original!.base64, 'base64'), bad[i]!.value);
  });
  assert.match(p.sinks.deadLetters[1]!.reason, /task\.labels/);
  assert.equal(p.queue.ids().length, 0, 'nothing was enqueued');
});

test('a whole document and a referenced one each become one plan job', async () => {
  const p = memoryIngest();
  await ingestDocumentRecord(
    record(
      { schema: DOCUMENT_SCHEMA_V1, id: 'whole', task: summarize, body: { kind: 'text', text: 'hello' } },
      'whole',
    ),
    p.deps,
  );
  await ingestDocumentRecord(
    record({
      schema: DOCUMENT_SCHEMA_V1,
      id: 'ref',
      task: summarize,
      body: { kind: 'ref', url: 'https://example.org/x.txt' },
    }),
    p.deps,
  );
  assert.equal(p.queue.ids().length, 2);
  assert.match(p.queue.ids()[0]!, /^plan~whole~docs~0~\d+$/, 'a plan job per submission (record)');
  const plan = p.queue.get(p.queue.ids()[0]!)!.job;
  assert.equal(plan.kind, 'plan');
  assert.deepEqual(plan.kind === 'plan' && plan.source, { kind: 'parts', count: 1 });
  const ref = p.queue.get(p.queue.ids()[1]!)!.job;
  assert.ok(ref.kind === 'plan' && ref.originalBase64, 'a reference keeps its record bytes for a later dead letter');
  assert.equal(p.sinks.deadLetters.length, 0);
});

test('parts complete when the final part and every earlier part have arrived, in any order', async () => {
  const p = memoryIngest();
  const part = (index: number, final: boolean, data: string, encoding: 'utf8' | 'base64' = 'utf8') =>
    record(
      {
        schema: DOCUMENT_SCHEMA_V1,
        id: 'parted',
        ...(final ? { task: summarize } : {}),
        body: { kind: 'part', index, final, encoding, data },
      },
      'parted',
    );
  await ingestDocumentRecord(part(0, false, 'first '), p.deps);
  await ingestDocumentRecord(part(2, true, Buffer.from('third').toString('base64'), 'base64'), p.deps);
  assert.equal(p.queue.ids().length, 0, 'part 1 is missing');
  await ingestDocumentRecord(part(1, false, 'second '), p.deps);
  assert.equal(p.queue.ids().length, 1);
  assert.ok(p.queue.ids()[0]!.startsWith('plan~parted~'));
  const chunks: Buffer[] = [];
  for await (const b of p.documents.readParts('parted', 3)) chunks.push(b);
  assert.equal(Buffer.concat(chunks).toString(), 'first second third');

  // A part beyond the final one, and a non-final part 0 without task, are handled.
  await ingestDocumentRecord(part(3, false, 'late'), p.deps);
  assert.equal(p.sinks.deadLetters.at(-1)?.code, 'E_PART_CONFLICT');
  await ingestDocumentRecord(
    record({ schema: DOCUMENT_SCHEMA_V1, id: 'x', body: { kind: 'part', index: 0, final: true, data: 'a' } }),
    p.deps,
  );
  assert.equal(p.sinks.deadLetters.at(-1)?.code, 'E_SCHEMA', 'the final part must name the task');
});

test('events: redeliveries are ignored, a full batch is expedited, oversized events are refused', async () => {
  const p = memoryIngest({ maxEventBytes: 64, anomaly: { batchEvents: 3, batchMs: 5000 } });
  const event = (text: string, key = 's1') => record({ schema: EVENT_SCHEMA_V1, stream: 's1', text }, key, 'events');
  const first = event('GET /index.html 200');
  await ingestEventRecord(first, p.deps);
  const delay = p.queue.get('drain~s1~0')?.delayMs ?? -1;
  assert.ok(delay > 4500 && delay <= 5000, `a lone event waits up to batchMs (delay ${delay})`);
  await ingestEventRecord(first, p.deps); // the same record again
  assert.equal((await p.events.read('s1', 0, 10)).length, 1);
  await ingestEventRecord(event('GET /a 200'), p.deps);
  await ingestEventRecord(event('GET /b 500'), p.deps);
  assert.equal(p.queue.get('drain~s1~0')?.delayMs, 0, 'a full batch runs now');
  await ingestEventRecord(event('x'.repeat(65)), p.deps);
  await ingestEventRecord(event('ok', 's2'), p.deps);
  assert.deepEqual(
    p.sinks.deadLetters.map((d) => d.code),
    ['E_OVERSIZED', 'E_KEY_MISMATCH'],
  );
  assert.deepEqual(
    (await p.events.read('s1', 0, 10)).map((e) => e.seq),
    [1, 2, 3],
  );
});
