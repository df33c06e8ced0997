// A document through the pipeline on memory ports and the tiny real model: planning, chunk jobs, the finish
// step, and every way a step can run twice (redelivery, retry after a crash, two workers at once).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { runChunk } from '../../pipelines/document-chunk.ts';
import { reportFailure } from '../../pipelines/failures.ts';
import { finishDocument } from '../../pipelines/finish.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema, FailureRecordSchema } from '../../schemas/results.ts';
import type { DocumentTaskInput } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { maxAbsDiff, tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const TEXT = Array.from(
  { length: 60 },
  (_, i) => `Line ${i}: the fox and the dog walk along the river and talk about the weather.\n`,
).join('');
const SUMMARIZE: DocumentTaskInput = { kind: 'summarize', maxTokens: 16 };

let offset = 0;
async function submit(p: MemoryPipeline, id: string, text: string, task: DocumentTaskInput = SUMMARIZE): Promise<void> {
  const value = Buffer.from(JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, task, body: { kind: 'text', text } }));
  const record: RawRecord = {
    topic: 'docs',
    partition: 0,
    offset: String(offset++),
    key: Buffer.from(id),
    value,
    timestamp: '0',
  };
  await ingestDocumentRecord(record, p.deps);
}

/** The result without its id, to compare runs of the same content under different ids. */
const body = (json: string) => ({ ...JSON.parse(json), id: undefined });

test('a multi-chunk document is planned, read chunk by chunk in order, and finished once', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 512, segmentTokens: 1024 });
  await submit(p, 'doc-1', TEXT);
  const ran = await runQueued(p);
  const chunks = Math.ceil(Buffer.byteLength(TEXT) / 512);
  assert.deepEqual(
    ran.map(([id]) => id.replace(/^(plan~doc-1)~.*$/, '$1')),
    ['plan~doc-1', ...Array.from({ length: chunks }, (_, k) => `chunk~doc-1~${k}`), 'finish~doc-1'],
  );
  assert.ok(ran.every(([, outcome]) => ['planned', 'applied', 'finished'].includes(outcome)));
  assert.deepEqual(
    p.states.commits.map((c) => c.chunk),
    Array.from({ length: chunks }, (_, k) => k + 1),
    'one commit per chunk, in order',
  );

  assert.equal(p.sinks.results.length, 1);
  const result = DocumentResultSchema.parse(JSON.parse(p.sinks.results[0]!.json));
  assert.equal(result.id, 'doc-1');
  assert.equal(result.tokens, Buffer.byteLength(TEXT));
  assert.equal(result.chunks, chunks);
  assert.equal(result.model.fingerprint, engine.model.info.fingerprint);
  assert.equal(result.tokenizer.fingerprint, engine.tokenizer.info.fingerprint);
  assert.equal(await p.results.get('document', 'doc-1'), p.sinks.results[0]!.json);
  assert.equal((await p.documents.get('doc-1'))!.status, 'done');
  assert.equal(p.states.heads.size, 0, "the finished document's state is dropped");
  assert.equal(p.documents.tokens.size, 0, 'and its token ids');
  assert.equal(p.documents.parts.size, 0, 'and its parts');
});

test('the state after the chunk chain is the state of reading the whole document at once', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 300 });
  await submit(p, 'doc-2', TEXT);
  // Run everything except the finish step, then read the committed state.
  while (p.queue.next() && !p.queue.next()!.id.startsWith('finish')) await runQueued(p, 1);
  const head = (await p.states.head({ kind: 'document', id: 'doc-2' }))!;
  const chained = engine.stateFromBuffer((await p.states.blob({ kind: 'document', id: 'doc-2' }, head))!);
  const whole = engine.model.newState();
  await engine.model.forward(engine.tokenizer.encodeSync(TEXT), whole, 'none');
  assert.equal(chained.tokens, whole.tokens);
  assert.ok(maxAbsDiff(chained.data, whole.data) < 1e-4, `max diff ${maxAbsDiff(chained.data, whole.data)}`);
});

test('redelivered chunk jobs are recognised by the checkpoint and never applied twice', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(p, 'doc-3', TEXT);
  await runQueued(p, 3); // plan, chunk 0, chunk 1
  const ctx = jobContext();
  assert.equal(await runChunk({ kind: 'chunk', doc: 'doc-3', chunk: 1 }, p.deps, ctx), 'already-applied');
  assert.equal(await runChunk({ kind: 'chunk', doc: 'doc-3', chunk: 0 }, p.deps, ctx), 'skipped');
  await assert.rejects(runChunk({ kind: 'chunk', doc: 'doc-3', chunk: 5 }, p.deps, ctx), { code: 'E_CHECKPOINT_GAP' });
  await runQueued(p);
  assert.equal(
    await runChunk({ kind: 'chunk', doc: 'doc-3', chunk: 2 }, p.deps, ctx),
    'skipped',
    'a late duplicate of a finished document',
  );
  assert.equal(await finishDocument({ kind: 'finish', doc: 'doc-3' }, p.deps, ctx), 'skipped');
  assert.equal(p.sinks.results.length, 1);
  const counts = new Map<number, number>();
  for (const c of p.states.commits) counts.set(c.chunk, (counts.get(c.chunk) ?? 0) + 1);
  assert.ok(
    [...counts.values()].every((n) => n === 1),
    'each chunk committed once',
  );
});

test('two workers running the same chunk at once: one commit wins, the other changes nothing', async () => {
  const a = memoryPipeline(engine, { chunkTokens: 512 });
  const b = memoryPipeline(await Engine.load({ model: tinyModel, threads: 1 }), { chunkTokens: 512 }, a, 'worker-b');
  await submit(a, 'doc-4', TEXT);
  await runQueued(a, 2); // plan, chunk 0
  const job = { kind: 'chunk', doc: 'doc-4', chunk: 1 } as const;
  const outcomes = await Promise.all([runChunk(job, a.deps, jobContext()), runChunk(job, b.deps, jobContext())]);
  assert.deepEqual([...outcomes].sort(), ['applied', 'superseded']);
  assert.equal(a.telemetry.rejected + b.telemetry.rejected, 1);
  assert.equal(a.states.commits.filter((c) => c.key === 'document/doc-4' && c.chunk === 2).length, 1);

  // The rest of the document, alternating between the two workers, still gives the uninterrupted result.
  for (let turn = 0; a.queue.next(); turn++) await runQueued(turn % 2 ? b : a, 1);
  const reference = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(reference, 'doc-4', TEXT);
  await runQueued(reference);
  assert.deepEqual(JSON.parse(a.sinks.results[0]!.json), JSON.parse(reference.sinks.results[0]!.json));
});

test("a crash between a commit and the successor's enqueue, or between storing and publishing the result, loses nothing", async () => {
  const p = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(p, 'doc-5', TEXT);
  await runQueued(p, 2);
  // Chunk 1 commits, then "crashes" before enqueueing chunk 2.
  const enqueue = p.queue.enqueue.bind(p.queue);
  p.queue.enqueue = async () => {
    throw new Error('connection lost');
  };
  await assert.rejects(runQueued(p, 1), /connection lost/);
  p.queue.enqueue = enqueue;
  assert.equal((await p.states.head({ kind: 'document', id: 'doc-5' }))!.chunk, 2);
  // The queue runs the job again (retry): it finds chunk 1 applied and only enqueues the successor.
  assert.equal(await runChunk({ kind: 'chunk', doc: 'doc-5', chunk: 1 }, p.deps, jobContext()), 'already-applied');
  p.queue.markDone('chunk~doc-5~1');

  // The finish step stores the result, then "crashes" before publishing.
  const publish = p.deps.resultSink.publish;
  p.deps.resultSink = {
    publish: async () => {
      throw new Error('broker down');
    },
  };
  while (p.queue.next()?.id.startsWith('chunk')) await runQueued(p, 1);
  await assert.rejects(finishDocument({ kind: 'finish', doc: 'doc-5' }, p.deps, jobContext()), /broker down/);
  assert.equal((await p.results.getDocument('doc-5'))!.published, false);
  p.deps.resultSink = { publish };
  await runQueued(p);
  assert.equal(p.sinks.results.length, 1, 'published exactly once');

  const reference = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(reference, 'other-id', TEXT);
  await runQueued(reference);
  assert.deepEqual(body(p.sinks.results[0]!.json), body(reference.sinks.results[0]!.json));
});

test('the same document delivered again continues the existing one; another document under a taken id is refused', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 2048 });
  await submit(p, 'doc-6', TEXT);
  await runQueued(p, 2);
  p.queue.forgetDone();
  await submit(p, 'doc-6', TEXT);
  const ran = await runQueued(p);
  assert.equal(ran.find(([id]) => id.startsWith('plan~'))?.[1], 'duplicate');
  assert.equal(ran.find(([id]) => id === 'chunk~doc-6~0')?.[1], 'skipped', 'the chain is not started a second time');
  assert.equal(p.sinks.results.length, 1);

  await submit(p, 'doc-6', `${TEXT} and more`);
  const next = p.queue.next()!;
  await assert.rejects(runQueued(p, 1), { code: 'E_DUPLICATE_ID' });
  await reportFailure(next.job, Object.assign(new Error('taken'), { code: 'E_DUPLICATE_ID' }), 1, p.deps);
  assert.equal(p.sinks.deadLetters.at(-1)?.code, 'E_DUPLICATE_ID');
  assert.equal((await p.documents.get('doc-6'))!.status, 'done', 'the existing document is untouched');
  assert.ok(DocumentResultSchema.safeParse(JSON.parse((await p.results.get('document', 'doc-6'))!)).success);
});

test('a document that fails for good is dead-lettered and its failure is readable by id', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(p, 'doc-7', TEXT, { kind: 'classify', labels: ['a', 'b'] });
  await runQueued(p, 1);
  // Planned with another tokenizer: no worker with this engine can read its token ids.
  p.documents.docs.get('doc-7')!.record.tokenizer.fingerprint = '0000000000000000';
  const job = p.queue.next()!.job;
  const err = await runChunk(job as never, p.deps, jobContext()).catch((e: unknown) => e);
  assert.equal((err as { code?: string }).code, 'E_TOKENIZER_MISMATCH');
  await reportFailure(job, err, 1, p.deps);
  assert.equal(p.sinks.deadLetters[0]!.stage, 'chunk');
  assert.deepEqual(p.sinks.deadLetters[0]!.subject, { kind: 'document', id: 'doc-7' });
  const failure = FailureRecordSchema.parse(JSON.parse((await p.results.get('document', 'doc-7'))!));
  assert.equal(failure.code, 'E_TOKENIZER_MISMATCH');
  assert.equal((await p.documents.get('doc-7'))!.status, 'failed');
  assert.equal(p.states.heads.size, 0);
});

test('classify documents come out as a distribution over the labels', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 1024 });
  await submit(p, 'doc-8', TEXT, { kind: 'classify', labels: ['weather', 'finance', 'sports'], template: '\nTopic:' });
  await runQueued(p);
  const result = DocumentResultSchema.parse(JSON.parse(p.sinks.results[0]!.json));
  assert.equal(result.task, 'classify');
  const labels = result.task === 'classify' ? result.classification.labels : [];
  assert.deepEqual(
    labels.map((l) => l.label),
    ['weather', 'finance', 'sports'],
  );
  assert.ok(Math.abs(labels.reduce((a, l) => a + l.probability, 0) - 1) < 1e-9);
});
