// Chunk plans, segment slices and deterministic job ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chunkCount, chunkRange, segmentSlices } from '../../pipelines/chunking.ts';
import { jobId, jobLane } from '../../pipelines/job-ids.ts';

test('chunks cover the document exactly, the last one short', () => {
  assert.equal(chunkCount(10_000, 4096), 3);
  assert.equal(chunkCount(8192, 4096), 2);
  assert.deepEqual(chunkRange(0, 10_000, 4096), { start: 0, end: 4096 });
  assert.deepEqual(chunkRange(2, 10_000, 4096), { start: 8192, end: 10_000 });
  assert.throws(() => chunkRange(3, 10_000, 4096), RangeError);
  assert.throws(() => chunkRange(-1, 10_000, 4096), RangeError);
});

test('segment slices split a token range at segment boundaries', () => {
  assert.deepEqual(segmentSlices(0, 10, 16), [{ segment: 0, from: 0, to: 10 }]);
  assert.deepEqual(segmentSlices(10, 40, 16), [
    { segment: 0, from: 10, to: 16 },
    { segment: 1, from: 0, to: 16 },
    { segment: 2, from: 0, to: 8 },
  ]);
  assert.deepEqual(segmentSlices(32, 32, 16), []);
});

test('job ids are deterministic, distinct per step, and free of ":" (BullMQ refuses it)', () => {
  const ids = [
    jobId({ kind: 'chunk', doc: 'a', chunk: 0 }),
    jobId({ kind: 'chunk', doc: 'a', chunk: 1 }),
    jobId({ kind: 'chunk', doc: 'a.1', chunk: 0 }),
    jobId({ kind: 'finish', doc: 'a' }),
    jobId({ kind: 'drain', stream: 'a', batch: 0 }),
    jobId({
      kind: 'plan',
      doc: 'a',
      task: {
        kind: 'classify',
        promptFormat: 'raw',
        labels: ['x', 'y'],
        template: 't',
        labelPrefix: ' ',
        score: 'sum',
      },
      source: { kind: 'parts', count: 1 },
    }),
  ];
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => !id.includes(':')));
  assert.equal(jobId({ kind: 'chunk', doc: 'a', chunk: 1 }), 'chunk~a~1');
  assert.equal(jobLane({ kind: 'finish', doc: 'a' }), 'chunks');
  // Documents by reference wait on other servers: their planning has a lane of its own.
  const task = {
    kind: 'classify' as const,
    promptFormat: 'raw' as const,
    labels: ['x', 'y'],
    template: 't',
    labelPrefix: ' ',
    score: 'sum' as const,
  };
  assert.equal(
    jobLane({ kind: 'plan', doc: 'a', task, source: { kind: 'ref', url: 'https://example.com/a.txt' } }),
    'fetch',
  );
  assert.equal(jobLane({ kind: 'plan', doc: 'a', task, source: { kind: 'parts', count: 1 } }), 'ingest');
});
