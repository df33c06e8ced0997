// The resume rule of a document, read from its stores alone: the embedded job starts from this step, and the
// chunk and finish jobs of both modes compare themselves with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { CheckpointHead, PlannedDocument } from '../../pipelines/ports.ts';
import { chunkJobAction, finishJobReady, resumeDocument, runningStep, stepJob } from '../../pipelines/resume.ts';
import type { DocumentRecord } from '../../schemas/records.ts';
import { DocumentTaskSchema } from '../../schemas/tasks.ts';

const record: DocumentRecord = {
  id: 'doc',
  task: DocumentTaskSchema.parse({ kind: 'summarize', maxTokens: 8 }),
  bytes: 100,
  sha256: '0'.repeat(64),
  tokens: 300,
  chunkTokens: 100,
  chunks: 3,
  layout: { nonce: 'n', segmentTokens: 1024, segments: 1 },
  tokenizer: { kind: 'world', fingerprint: 'f' },
};

const running: PlannedDocument = { record, status: 'running' };

function head(chunk: number, result: string | null = null, published = result === null): CheckpointHead {
  return { version: chunk + 4, chunk, tokens: chunk * 100, cursor: 0, bytes: 10, ref: 'r', result, published };
}

test('nothing planned: plan; failed: nothing can be done; done: publish the stored result unless it went out', () => {
  assert.deepEqual(resumeDocument({ planned: null, head: null }), { step: 'plan' });
  assert.deepEqual(resumeDocument({ planned: { record, status: 'failed' }, head: head(2) }), { step: 'failed' });
  const done: PlannedDocument = { record, status: 'done' };
  assert.deepEqual(resumeDocument({ planned: done, head: null, stored: { json: '{}', published: false } }), {
    step: 'publish',
  });
  assert.deepEqual(resumeDocument({ planned: done, head: null, stored: { json: '{}', published: true } }), {
    step: 'done',
  });
  assert.deepEqual(resumeDocument({ planned: done, head: null }), { step: 'done' });
});

test('running: the next chunk, the finish step once every chunk is in, and a pending outbox before either', () => {
  assert.deepEqual(resumeDocument({ planned: running, head: null }), { step: 'chunk', chunk: 0, committed: 0 });
  assert.deepEqual(resumeDocument({ planned: running, head: head(2) }), { step: 'chunk', chunk: 2, committed: 2 });
  assert.deepEqual(resumeDocument({ planned: running, head: head(3) }), { step: 'finish', committed: 3 });
  assert.deepEqual(
    resumeDocument({ planned: running, head: head(2, '["s"]', true) }),
    { step: 'chunk', chunk: 2, committed: 2 },
    'a delivered outbox is kept but done',
  );
  assert.deepEqual(resumeDocument({ planned: running, head: head(2, '["s"]') }), {
    step: 'deliver',
    chunk: 1,
    committed: 2,
    version: 6,
    outbox: '["s"]',
  });
  assert.deepEqual(
    resumeDocument({ planned: running, head: head(3, '["s"]') }),
    { step: 'deliver', chunk: 2, committed: 3, version: 7, outbox: '["s"]' },
    'the last chunk delivers before the finish',
  );
});

test("the job that carries out a step stays in the record's chain", () => {
  assert.deepEqual(stepJob(runningStep(running, head(2, '["s"]')), record), { kind: 'chunk', doc: 'doc', chunk: 1 });
  assert.deepEqual(stepJob(runningStep(running, head(3)), record), { kind: 'finish', doc: 'doc' });
  const again: PlannedDocument = { record: { ...record, chain: 'c1' }, status: 'running' };
  assert.deepEqual(stepJob(runningStep(again, head(1)), again.record), {
    kind: 'chunk',
    doc: 'doc',
    chunk: 1,
    chain: 'c1',
  });
  assert.throws(() => runningStep({ record, status: 'done' }, null), /not running/);
});

test('a queued chunk job against the checkpoint: skip, applied, run or gap; a finish job only after the last chunk', () => {
  const at2 = runningStep(running, head(2));
  assert.deepEqual(
    [0, 1, 2, 3].map((k) => chunkJobAction(k, at2)),
    ['skip', 'applied', 'run', 'gap'],
  );
  const pending = runningStep(running, head(2, '["s"]'));
  assert.equal(chunkJobAction(1, pending), 'applied', 'the chunk that made the outbox delivers it');
  assert.equal(chunkJobAction(0, runningStep(running, null)), 'run');
  assert.equal(finishJobReady(at2, record.chunks), false);
  assert.equal(finishJobReady(runningStep(running, head(3)), record.chunks), true);
});
