// Documents with sections through the pipeline on memory ports and the tiny real model: sections at the
// planned boundaries, forks that leave the main chain alone, crashes between commit, publish and mark, the
// final modes, classify aggregation, and the reduce over thousands of sections.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { runChunk } from '../../pipelines/document-chunk.ts';
import { finishDocument } from '../../pipelines/finish.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import { aggregateClassifications, groupPrompt, reduceSummaries } from '../../pipelines/reduce.ts';
import { planSections } from '../../pipelines/sections.ts';
import { summarize } from '../../pipelines/tasks/index.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import {
  DocumentResultSchema,
  SectionResultSchema,
  type DocumentResult,
  type SectionResult,
} from '../../schemas/results.ts';
import { DocumentTaskSchema, type DocumentTaskInput, type SummarizeTask } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const TEXT = Array.from(
  { length: 30 },
  (_, i) =>
    `${i % 6 === 0 ? `# Part ${i / 6}\n` : ''}Line ${i}: the fox and the dog walk along the river. They talk about the weather!\n${i % 4 === 3 ? '\n' : ''}`,
).join('');

let offset = 0;
async function submit(p: MemoryPipeline, id: string, text: string, task: DocumentTaskInput): Promise<void> {
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

const sectionsOf = (p: MemoryPipeline): SectionResult[] =>
  p.sinks.results
    .map((r) => JSON.parse(r.json))
    .filter((r) => r.kind === 'section')
    .map((r) => SectionResultSchema.parse(r));
const documentOf = (p: MemoryPipeline): DocumentResult =>
  DocumentResultSchema.parse(JSON.parse(p.sinks.results.find((r) => JSON.parse(r.json).kind === 'document')!.json));

/** Keeps every committed state blob, in commit order. */
function recordBlobs(p: MemoryPipeline): Buffer[] {
  const blobs: Buffer[] = [];
  const commit = p.states.commit.bind(p.states);
  p.states.commit = async (key, expected, write) => {
    const outcome = await commit(key, expected, write);
    if (outcome.ok) blobs.push(Buffer.from(write.blob));
    return outcome;
  };
  return blobs;
}

const SUMMARIZE = { kind: 'summarize' as const, maxTokens: 6, stop: [] as string[] };

test('sections come out at the planned boundaries, in order, each before the document result', async () => {
  const every = 200;
  const p = memoryPipeline(engine, { chunkTokens: 300 });
  await submit(p, 'sec-1', TEXT, { ...SUMMARIZE, sections: { every, maxTokens: 3, template: '\nIn short:' } });
  await runQueued(p);

  const ids = engine.tokenizer.encodeSync(TEXT);
  const planned = planSections(ids, { every, slack: every / 8, boundaries: 'natural' }, (id) =>
    engine.tokenizer.decodeBytes([id]),
  );
  const sections = sectionsOf(p);
  assert.equal(planned.length, Math.floor((ids.length - 1) / every) + 1);
  assert.deepEqual(
    sections.map((s) => ({ index: s.section, start: s.start, end: s.end, boundary: s.boundary })),
    planned,
  );
  assert.ok(
    planned.slice(0, -1).every((s) => s.boundary !== 'exact'),
    'this text has a natural break near every mark',
  );
  assert.ok(
    sections.every(
      (s) =>
        s.sections === planned.length && s.id === 'sec-1' && s.template === '\nIn short:' && s.task === 'summarize',
    ),
  );
  assert.equal(JSON.parse(p.sinks.results.at(-1)!.json).kind, 'document', 'the document result comes last');
  assert.ok(
    p.sinks.results.every((r) => r.key === 'sec-1'),
    'keyed by the document id',
  );

  // Each section is answered from the state at its end: the same as reading the prefix and generating there.
  for (const s of [sections[0]!, sections[2]!]) {
    const state = engine.model.newState();
    await engine.model.forward(ids.subarray(0, s.end), state, 'none');
    const task = DocumentTaskSchema.parse({ ...SUMMARIZE, template: '\nIn short:', maxTokens: 3 }) as SummarizeTask;
    assert.deepEqual('summary' in s && s.summary, await summarize(engine, state, task));
  }
  // Stored once each, and what is stored is what was published.
  assert.deepEqual(
    await p.results.getSections('sec-1'),
    p.sinks.results.slice(0, -1).map((r) => r.json),
  );
  assert.ok([...p.results.sectionSaves.values()].every((n) => n === 1));
  assert.equal(p.states.heads.size, 0, 'the state is dropped at the end');
});

test('the forks do not touch the main chain: every checkpoint and the final-state result are bit-identical', async () => {
  const plain = memoryPipeline(engine, { chunkTokens: 256 });
  const plainBlobs = recordBlobs(plain);
  await submit(plain, 'fork-a', TEXT, SUMMARIZE);
  await runQueued(plain);

  const withSections = memoryPipeline(engine, { chunkTokens: 256 });
  const sectionBlobs = recordBlobs(withSections);
  await submit(withSections, 'fork-a', TEXT, { ...SUMMARIZE, sections: { every: 100, final: 'state', maxTokens: 4 } });
  await runQueued(withSections);

  assert.ok(sectionsOf(withSections).length > plainBlobs.length, 'several sections per chunk');
  assert.equal(sectionBlobs.length, plainBlobs.length);
  sectionBlobs.forEach((blob, i) => assert.ok(blob.equals(plainBlobs[i]!), `checkpoint ${i + 1} is bit-identical`));
  const { coverage, ...rest } = documentOf(withSections) as DocumentResult & { coverage?: unknown };
  assert.deepEqual(rest, documentOf(plain));
  assert.deepEqual(coverage, {
    every: 100,
    slack: 12,
    boundaries: 'natural',
    sections: sectionsOf(withSections).length,
    final: 'state',
    template: '\n\nSummary:',
    maxTokens: 4,
    reduce: {
      fanIn: 32,
      levels: 0,
      prompt: 'Summaries of consecutive sections of one document:\n\n',
      entry: 'Section {n}: {text}\n',
      template: '\n\nSummary of the whole document:',
    },
  });
  // Without sections the result bytes are those of a document result as it always was: no new keys.
  assert.deepEqual(Object.keys(JSON.parse(plain.sinks.results[0]!.json)), [
    'schema',
    'kind',
    'id',
    'model',
    'tokenizer',
    'tokens',
    'chunks',
    'chunkTokens',
    'task',
    'summary',
  ]);
});

test('a crash after the commit, before or during publishing, and before the mark: same sections, each stored once', async () => {
  const task: DocumentTaskInput = { ...SUMMARIZE, sections: { every: 64, maxTokens: 2 } };
  const reference = memoryPipeline(engine, { chunkTokens: 256 });
  await submit(reference, 'crash', TEXT, task);
  await runQueued(reference);

  const p = memoryPipeline(engine, { chunkTokens: 256 });
  await submit(p, 'crash', TEXT, task);
  await runQueued(p, 2); // plan, chunk 0
  const key = { kind: 'document', id: 'crash' } as const;

  // Chunk 1 commits, then the broker fails on its second section: one section out, the rest not.
  const publish = p.deps.resultSink.publish;
  let calls = 0;
  p.deps.resultSink = {
    publish: async (k, json) => {
      if (++calls === 2) throw new Error('broker down');
      await publish(k, json);
    },
  };
  await assert.rejects(runQueued(p, 1), /broker down/);
  let head = (await p.states.head(key))!;
  assert.equal(head.chunk, 2);
  assert.equal(head.published, false, 'the outbox is still pending');
  assert.equal(p.queue.next()?.id, 'chunk~crash~1', 'the successor is not enqueued before the sections are out');
  p.deps.resultSink = { publish };

  // The retry (another worker: nothing cached) finds the chunk applied and delivers its outbox first.
  const other = memoryPipeline(
    await Engine.load({ model: tinyModel, threads: 1 }),
    { chunkTokens: 256 },
    p,
    'worker-b',
  );
  assert.equal(await runChunk({ kind: 'chunk', doc: 'crash', chunk: 1 }, other.deps, jobContext()), 'already-applied');
  head = (await p.states.head(key))!;
  assert.equal(head.published, true);
  p.queue.markDone('chunk~crash~1');

  // Chunk 2 publishes everything, then dies before the mark: the retry publishes the same bytes again.
  const mark = p.states.markPublished.bind(p.states);
  p.states.markPublished = async () => {
    throw new Error('redis gone');
  };
  await assert.rejects(runQueued(p, 1), /redis gone/);
  p.states.markPublished = mark;
  const before = p.sinks.results.length;
  assert.equal(await runChunk({ kind: 'chunk', doc: 'crash', chunk: 2 }, p.deps, jobContext()), 'already-applied');
  assert.ok(p.sinks.results.length > before, 'republished (at least once)');
  p.queue.markDone('chunk~crash~2');
  await runQueued(p);

  // By index, every published copy is identical and equal to the undisturbed run's section.
  const expected = new Map(sectionsOf(reference).map((s) => [s.section, JSON.stringify(s)]));
  for (const s of sectionsOf(p)) assert.equal(JSON.stringify(s), expected.get(s.section));
  assert.deepEqual(new Set(sectionsOf(p).map((s) => s.section)), new Set(expected.keys()));
  assert.deepEqual(await p.results.getSections('crash'), await reference.results.getSections('crash'));
  assert.equal(p.results.sections.get('crash')!.size, expected.size, 'one stored entry per section');
  assert.equal(
    p.states.commits.filter((c) => c.key === 'document/crash').length,
    reference.states.commits.filter((c) => c.key === 'document/crash').length,
  );
  assert.deepEqual(documentOf(p), documentOf(reference));
});

test('final modes: sections (the reduce), state, and both', async () => {
  const sections = { every: 128, maxTokens: 4, reduce: { fanIn: 3 } };
  const run = async (final: 'sections' | 'state' | 'both') => {
    const p = memoryPipeline(engine, { chunkTokens: 512 });
    await submit(p, `final-${final}`, TEXT, { ...SUMMARIZE, sections: { ...sections, final } });
    await runQueued(p);
    return { result: documentOf(p), sections: sectionsOf(p) };
  };
  const plain = memoryPipeline(engine, { chunkTokens: 512 });
  await submit(plain, 'final-plain', TEXT, SUMMARIZE);
  await runQueued(plain);
  const stateSummary = documentOf(plain).task === 'summarize' && (documentOf(plain) as { summary: unknown }).summary;

  const fromSections = await run('sections');
  const fromState = await run('state');
  const both = await run('both');
  const texts = fromSections.sections.map((s) => ('summary' in s ? s.summary.text : ''));
  assert.ok(texts.length > 9, 'more sections than fanIn²: three levels');
  const task = DocumentTaskSchema.parse({ ...SUMMARIZE, sections: { ...sections } }) as SummarizeTask;
  const reduced = await reduceSummaries(engine, texts, task, task.sections!.reduce);
  assert.equal(reduced.levels, Math.ceil(Math.log(texts.length) / Math.log(3)));

  assert.deepEqual((fromSections.result as { summary: unknown }).summary, reduced.summary);
  assert.equal((fromSections.result as { stateSummary?: unknown }).stateSummary, undefined);
  assert.equal(fromSections.result.coverage?.sections, texts.length);
  assert.equal((fromSections.result.coverage as { reduce: { levels: number } }).reduce.levels, reduced.levels);

  assert.deepEqual((fromState.result as { summary: unknown }).summary, stateSummary);
  assert.equal((fromState.result.coverage as { reduce: { levels: number } }).reduce.levels, 0);
  assert.deepEqual(
    fromState.sections,
    fromSections.sections.map((s) => ({ ...s, id: 'final-state' })),
    'sections are emitted in every mode',
  );

  assert.deepEqual((both.result as { summary: unknown }).summary, reduced.summary);
  assert.deepEqual((both.result as { stateSummary: unknown }).stateSummary, stateSummary);
  assert.deepEqual(
    groupPrompt(['a {n}', 'b'], task.sections!.reduce),
    'Summaries of consecutive sections of one document:\n\nSection 1: a {n}\nSection 2: b\n',
  );
});

test("classify: the document's distribution is the token-weighted mean of the sections'", async () => {
  const task: DocumentTaskInput = {
    kind: 'classify',
    labels: ['weather', 'finance', 'sports'],
    template: '\nTopic:',
    sections: { every: 150, final: 'both' },
  };
  const p = memoryPipeline(engine, { chunkTokens: 400 });
  await submit(p, 'cls', TEXT, task);
  await runQueued(p);
  const sections = sectionsOf(p);
  const result = documentOf(p);
  assert.equal(result.task, 'classify');
  if (result.task !== 'classify') return;
  const total = sections.reduce((n, s) => n + s.end - s.start, 0);
  assert.equal(total, result.tokens, 'the sections cover every token');
  for (const label of result.classification.labels) {
    const expected =
      sections.reduce(
        (sum, s) =>
          sum +
          ('classification' in s ? s.classification.labels.find((l) => l.label === label.label)!.probability : 0) *
            (s.end - s.start),
        0,
      ) / total;
    assert.ok(Math.abs(label.probability - expected) < 1e-12, `${label.label}: ${label.probability} vs ${expected}`);
    assert.ok(Math.abs(label.logprob - Math.log(expected)) < 1e-9);
    assert.equal(label.tokens, engine.tokenizer.encodeSync(` ${label.label}`).length);
  }
  assert.ok(Math.abs(result.classification.labels.reduce((a, l) => a + l.probability, 0) - 1) < 1e-9);
  const top = [...result.classification.labels].sort((a, b) => b.probability - a.probability)[0]!;
  assert.equal(result.classification.best, top.label);

  const plain = memoryPipeline(engine, { chunkTokens: 400 });
  await submit(plain, 'cls', TEXT, {
    kind: 'classify',
    labels: ['weather', 'finance', 'sports'],
    template: '\nTopic:',
  });
  await runQueued(plain);
  const reference = documentOf(plain);
  assert.deepEqual(result.stateClassification, reference.task === 'classify' ? reference.classification : null);
  assert.deepEqual(result.coverage, {
    every: 150,
    slack: 18,
    boundaries: 'natural',
    sections: sections.length,
    final: 'both',
    template: '\nTopic:',
  });

  // A long section outweighs a short one; equal probabilities keep the first label as best.
  const c = (p0: number) => ({
    score: 'sum' as const,
    best: 'x',
    labels: [
      { label: 'x', logprob: 0, tokens: 1, probability: p0 },
      { label: 'y', logprob: 0, tokens: 2, probability: 1 - p0 },
    ],
  });
  const agg = aggregateClassifications(
    [
      { tokens: 300, classification: c(0.9) },
      { tokens: 100, classification: c(0.1) },
    ],
    DocumentTaskSchema.parse({ kind: 'classify', labels: ['x', 'y'] }) as never,
  );
  assert.deepEqual(
    agg.labels.map((l) => [l.label, l.tokens]),
    [
      ['x', 1],
      ['y', 2],
    ],
  );
  assert.ok(Math.abs(agg.labels[0]!.probability - 0.7) < 1e-12 && Math.abs(agg.labels[1]!.probability - 0.3) < 1e-12);
  assert.equal(agg.best, 'x');
});

test('a section missing from the result store stops the finish step with a code naming it', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 4096 });
  await submit(p, 'gone', TEXT, { ...SUMMARIZE, sections: { every: 300, maxTokens: 1 } });
  while (p.queue.next() && !p.queue.next()!.id.startsWith('finish')) await runQueued(p, 1);
  p.results.sections.get('gone')!.delete(2);
  await assert.rejects(
    finishDocument({ kind: 'finish', doc: 'gone' }, p.deps, jobContext()),
    (err: Error & { code?: string }) =>
      err.code === 'E_SECTION_MISSING' && /section 2 of \d+ of gone/.test(err.message),
  );
});

test('the reduce handles thousands of sections, level after level', async () => {
  const text = Array.from({ length: 2200 }, (_, i) => `Item ${String(i).padStart(5, '0')} ok.\n`).join('');
  const p = memoryPipeline(engine, { chunkTokens: 8192 });
  await submit(p, 'many', text, {
    kind: 'summarize',
    maxTokens: 2,
    stop: [],
    sections: { every: 16, boundaries: 'exact', maxTokens: 1, template: '\n:' },
  });
  await runQueued(p);
  const result = documentOf(p);
  const count = Math.floor((Buffer.byteLength(text) - 1) / 16) + 1;
  assert.ok(count >= 2000);
  assert.equal(sectionsOf(p).length, count);
  assert.equal(result.coverage?.sections, count);
  const levels = (result.coverage as { reduce: { levels: number } }).reduce.levels;
  assert.equal(levels, 3, `${count} sections → ${Math.ceil(count / 32)} → ${Math.ceil(count / 32 / 32)} → 1`);
  assert.equal(result.task === 'summarize' && result.summary.generatedTokens, 2);
});
