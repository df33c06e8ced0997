// Per-document caps (limits.maxSections, limits.maxGeneratedTokens): a task asking for more in one answer is
// refused at ingest (dead letter and failure record); a document whose length would take it past a cap is
// refused while it is tokenized, before the rest is stored; a document within the caps is read as usual.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { generatedTokens } from '../../pipelines/limits.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import { planDocument } from '../../pipelines/plan.ts';
import type { RawRecord } from '../../pipelines/ports.ts';
import type { PlanJob } from '../../schemas/jobs.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { FailureRecordSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema, type DocumentTaskInput } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const TEXT = Array.from({ length: 40 }, (_, i) => `Line ${i}: the fox and the dog walk along the river.\n`).join('');

let offset = 0;
async function submit(p: MemoryPipeline, id: string, task: DocumentTaskInput): Promise<void> {
  const value = Buffer.from(
    JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id, task, body: { kind: 'text', text: TEXT } }),
  );
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

test('a task asking for more generated tokens in one answer than the cap is refused at ingest', async () => {
  const p = memoryPipeline(engine, { limits: { maxGeneratedTokens: 100 } });
  await submit(p, 'greedy', { kind: 'summarize', maxTokens: 101 });
  assert.deepEqual(
    p.sinks.deadLetters.map((l) => [l.stage, l.code]),
    [['ingest', 'E_TOO_MANY_GENERATED_TOKENS']],
  );
  assert.match(
    p.sinks.deadLetters[0]!.reason,
    /101 generated tokens in one answer; at most 100 .*limits\.maxGeneratedTokens/,
  );
  assert.equal(
    FailureRecordSchema.parse(JSON.parse(p.results.failures.get('greedy')!)).code,
    'E_TOO_MANY_GENERATED_TOKENS',
  );
  assert.equal(p.queue.next(), null, 'nothing planned');
});

test('a document that would have more sections than the cap is refused while it is tokenized', async () => {
  const p = memoryPipeline(engine, { limits: { maxSections: 3 } });
  await submit(p, 'cut-fine', { kind: 'classify', labels: ['a', 'b'], sections: { every: 64 } });
  const next = p.queue.next()!;
  await assert.rejects(
    planDocument(next.job as PlanJob, p.deps, jobContext()),
    (err: { code?: string; message: string }) => {
      assert.equal(err.code, 'E_TOO_MANY_SECTIONS');
      assert.match(err.message, /more than 3 sections \(limits\.maxSections\) of 64 tokens/);
      return true;
    },
  );
  assert.equal(await p.documents.get('cut-fine'), null, 'no document was created');
});

test('the generated tokens of all answers together are capped, counting section summaries and reduce steps', async () => {
  const task = SummarizeTaskSchema.parse({
    kind: 'summarize',
    maxTokens: 8,
    sections: { every: 64, maxTokens: 4, reduce: { fanIn: 2 } },
  });
  // 5 sections of 64 tokens: 5 × 4 section tokens, reduce steps 3 + 2 + 1 = 6 of 8 tokens.
  assert.equal(generatedTokens(task, 5 * 64), 5 * 4 + 6 * 8);
  const p = memoryPipeline(engine, { limits: { maxGeneratedTokens: 30 } });
  await submit(p, 'talkative', { kind: 'summarize', maxTokens: 8, sections: { every: 64, maxTokens: 4 } });
  const next = p.queue.next()!;
  await assert.rejects(planDocument(next.job as PlanJob, p.deps, jobContext()), {
    code: 'E_TOO_MANY_GENERATED_TOKENS',
  });
});

test('a document within the caps is read to its result', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 512, limits: { maxSections: 1000, maxGeneratedTokens: 10_000 } });
  await submit(p, 'modest', { kind: 'summarize', maxTokens: 8, sections: { every: 256, maxTokens: 4 } });
  await runQueued(p);
  assert.equal((await p.documents.get('modest'))?.status, 'done');
  assert.deepEqual(p.sinks.deadLetters, []);
});
