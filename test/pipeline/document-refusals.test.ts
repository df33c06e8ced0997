// Documents that are not usable text are refused with a code and a reason before any model work: bodies of
// only whitespace, bytes that are not UTF-8 (naming the offset, across part boundaries), and documents past
// the token limit (refused while tokenizing, with the ids already written discarded).
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { before, test } from 'node:test';

import { DocumentTextCheck } from '../../pipelines/document-text.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { runJob } from '../../pipelines/run-job.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

let offset = 0;
function record(id: string, body: unknown, final = true): RawRecord {
  const value = Buffer.from(
    JSON.stringify({
      schema: DOCUMENT_SCHEMA_V1,
      id,
      ...(final ? { task: { kind: 'summarize', maxTokens: 4 } } : {}),
      body,
    }),
  );
  return { topic: 'docs', partition: 0, offset: String(offset++), key: Buffer.from(id), value, timestamp: '0' };
}

const base64Part = (index: number, final: boolean, bytes: Buffer) => ({
  kind: 'part',
  index,
  final,
  encoding: 'base64',
  data: bytes.toString('base64'),
});

/** Sends the parts, then runs the plan job; returns its error (or null when it planned). */
async function planParts(
  p: MemoryPipeline,
  id: string,
  parts: Buffer[],
): Promise<{ code?: string; message?: string } | null> {
  for (const [i, bytes] of parts.entries())
    await ingestDocumentRecord(
      record(id, base64Part(i, i === parts.length - 1, bytes), i === parts.length - 1),
      p.deps,
    );
  assert.equal(p.sinks.deadLetters.length, 0, 'the parts themselves are accepted');
  const next = p.queue.next();
  if (!next?.id.startsWith(`plan~${id}~`)) assert.fail(`a plan job for ${id}`);
  p.queue.markDone(next.id);
  return runJob(next.job, p.deps, jobContext()).then(
    () => null,
    (err: { code?: string; message?: string }) => err,
  );
}

test('a text body of only whitespace is refused at ingest as empty', async () => {
  const p = memoryPipeline(engine);
  await ingestDocumentRecord(record('blank', { kind: 'text', text: ' \n\t\r\n   ' }), p.deps);
  assert.equal(p.sinks.deadLetters.length, 1);
  assert.equal(p.sinks.deadLetters[0]!.code, 'E_EMPTY_DOCUMENT');
  assert.match(p.sinks.deadLetters[0]!.reason, /only whitespace/);
  assert.equal(p.queue.ids().length, 0, 'nothing is planned');
});

test('parts of only whitespace are refused at planning, with nothing left stored', async () => {
  const p = memoryPipeline(engine);
  const err = await planParts(p, 'blank-parts', [Buffer.from('   \n'), Buffer.from('\t\t\r\n')]);
  assert.equal(err?.code, 'E_EMPTY_DOCUMENT');
  assert.match(err.message ?? '', /blank-parts has only whitespace/);
  assert.equal(p.documents.tokens.size, 0);
  assert.equal(await p.documents.get('blank-parts'), null);
});

test('invalid UTF-8 in a part is refused naming the byte offset in the whole document', async () => {
  const p = memoryPipeline(engine);
  // The bad byte is the 3rd of part 1; part 0 has 10 bytes.
  const err = await planParts(p, 'binary', [Buffer.from('0123456789'), Buffer.from([0x61, 0x62, 0xff, 0x63])]);
  assert.equal(err?.code, 'E_ENCODING');
  assert.match(err.message ?? '', /byte 0xff at byte offset 12\b/);
  assert.equal(p.documents.tokens.size, 0, 'the ids already written are discarded');
});

test('a character cut short at the end of the document is invalid; one split across parts is fine', async () => {
  const euro = Buffer.from('€'); // e2 82 ac
  const p = memoryPipeline(engine);
  const cut = await planParts(p, 'cut', [Buffer.from('price: 5'), euro.subarray(0, 2)]);
  assert.equal(cut?.code, 'E_ENCODING');
  assert.match(cut.message ?? '', /ends inside the character that starts at byte offset 8/);

  const q = memoryPipeline(engine);
  assert.equal(
    await planParts(q, 'split', [Buffer.concat([Buffer.from('price: 5'), euro.subarray(0, 1)]), euro.subarray(1)]),
    null,
  );
  assert.equal((await q.documents.get('split'))?.record.tokens, Buffer.byteLength('price: 5€'));
});

test('a document past the token limit is refused while it is tokenized, before the rest is read', async () => {
  const p = memoryPipeline(engine, { maxDocumentTokens: 1_500_000 });
  const piece = Buffer.alloc(64 * 1024, 'the fox walks. ');
  let served = 0;
  p.deps.bodies = {
    async *open() {
      for (let i = 0; i < 64; i++) {
        served += piece.length;
        yield piece;
      }
    },
  };
  // The memory store spreads ids into arrays; a window of a million ids at once would overflow its call stack.
  const open = p.documents.openTokenWriter.bind(p.documents);
  p.documents.openTokenWriter = (id, segmentTokens) => {
    const writer = open(id, segmentTokens);
    return {
      ...writer,
      append: async (ids) => {
        for (let at = 0; at < ids.length; at += 1 << 16) await writer.append(ids.subarray(at, at + (1 << 16)));
      },
    };
  };
  await ingestDocumentRecord(record('huge', { kind: 'ref', url: 'https://example.org/huge.txt' }), p.deps);
  const next = p.queue.next()!;
  const err = await runJob(next.job, p.deps, jobContext()).then(
    () => null,
    (e: { code?: string; message?: string }) => e,
  );
  assert.equal(err?.code, 'E_TOO_LARGE');
  assert.match(err.message ?? '', /more than the limit of 1500000 tokens/);
  assert.ok(served < 3 * 1024 * 1024, `stopped reading early (${served} of ${64 * piece.length} bytes served)`);
  assert.equal(p.documents.tokens.size, 0, 'the ids already written are discarded');
  assert.equal(await p.documents.get('huge'), null);

  // At the limit exactly it is planned.
  const q = memoryPipeline(engine, { maxDocumentTokens: 1000 });
  assert.equal(await planParts(q, 'at-limit', [Buffer.alloc(1000, 'a')]), null);
  const r = memoryPipeline(engine, { maxDocumentTokens: 1000 });
  assert.equal((await planParts(r, 'over-limit', [Buffer.alloc(1001, 'a')]))?.code, 'E_TOO_LARGE');
});

test('the streaming UTF-8 check agrees with a whole-buffer check on random and mutated bytes, at any split', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const samples = ['plain ascii', 'é€😀 mixed ü', '\u{10FFFF}\u{800}\u{FFFF}', ''].map((s) => Buffer.from(s));
  for (let n = 0; n < 3000; n++) {
    const bytes = Buffer.from(samples[rand(samples.length)]!);
    if (bytes.length > 0 && rand(2) === 0) bytes[rand(bytes.length)] = rand(256);
    const random = n % 3 === 0 ? Buffer.from(Array.from({ length: rand(8) }, () => rand(256))) : bytes;
    const split = rand(random.length + 1);
    const check = new DocumentTextCheck('d');
    let ok = true;
    try {
      check.push(random.subarray(0, split));
      check.push(random.subarray(split));
      check.end();
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'E_ENCODING');
      ok = false;
    }
    assert.equal(ok, isUtf8(random), `${random.toString('hex')} split at ${split}`);
  }
});

test('a record that is not UTF-8 is refused at ingest naming the byte offset', async () => {
  const p = memoryPipeline(engine);
  const json = Buffer.from(
    JSON.stringify({
      schema: DOCUMENT_SCHEMA_V1,
      id: 'raw',
      task: { kind: 'summarize' },
      body: { kind: 'text', text: 'ab#' },
    }),
  );
  const at = json.indexOf('#');
  json[at] = 0xc3; // a lead byte followed by '"', not by a continuation byte
  await ingestDocumentRecord(
    { topic: 'docs', partition: 0, offset: String(offset++), key: null, value: json, timestamp: '0' },
    p.deps,
  );
  assert.equal(p.sinks.deadLetters[0]?.code, 'E_ENCODING');
  assert.match(p.sinks.deadLetters[0]!.reason, new RegExp(`byte 0x22 at byte offset ${at + 1}\\b`));
});
