// A store that lost commits (a Redis restarted without persistence, a failover to a lagging replica) is found
// when a writer's fenced commit meets a version below the one it started from: the document fails with
// E_CHECKPOINT_REGRESSED, a dead letter and a failure record, instead of the run being dropped as superseded.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { runChunk } from '../../pipelines/document-chunk.ts';
import { runDrain } from '../../pipelines/drain.ts';
import { reportFailure } from '../../pipelines/failures.ts';
import { ingestDocumentRecord, ingestEventRecord } from '../../pipelines/ingest.ts';
import type { RawRecord, StateStore } from '../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { FailureRecordSchema } from '../../schemas/results.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, runQueued, type MemoryPipeline } from './memory-ports.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});

const TEXT = Array.from({ length: 60 }, (_, i) => `Line ${i}: the fox and the dog walk along the river.\n`).join('');

async function submit(p: MemoryPipeline, id: string): Promise<void> {
  const value = Buffer.from(
    JSON.stringify({
      schema: DOCUMENT_SCHEMA_V1,
      id,
      task: { kind: 'summarize', maxTokens: 8 },
      body: { kind: 'text', text: TEXT },
    }),
  );
  const record: RawRecord = { topic: 'docs', partition: 0, offset: '0', key: Buffer.from(id), value, timestamp: '0' };
  await ingestDocumentRecord(record, p.deps);
}

/** Runs `lose` just before the next commit reaches the store, as if the store lost data while the model ran. */
function loseBeforeNextCommit(states: StateStore, lose: () => void): void {
  const commit = states.commit.bind(states);
  states.commit = async (key, expected, write) => {
    states.commit = commit;
    lose();
    return commit(key, expected, write);
  };
}

test('a store restarted empty under a running chunk fails the document loudly, even with its record gone', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 256 });
  await submit(p, 'doc-wiped');
  await runQueued(p, 3); // plan, chunk 0, chunk 1: the checkpoint is at version 2
  const next = p.queue.next()!;
  assert.deepEqual(next.job, { kind: 'chunk', doc: 'doc-wiped', chunk: 2 });
  loseBeforeNextCommit(p.states, () => {
    p.states.heads.clear();
    p.documents.docs.clear();
  });
  const err = await runChunk(next.job as { kind: 'chunk'; doc: string; chunk: number }, p.deps, jobContext()).then(
    () => null,
    (e: unknown) => e,
  );
  assert.equal((err as { code?: string })?.code, 'E_CHECKPOINT_REGRESSED', String(err));
  assert.match((err as Error).message, /went back from version 2 to 0/);
  assert.equal((err as { retriable?: boolean }).retriable, false, 'retrying cannot bring the lost commits back');

  await reportFailure(next.job, err, 1, p.deps);
  const letters = p.sinks.deadLetters.filter((l) => l.code === 'E_CHECKPOINT_REGRESSED');
  assert.equal(letters.length, 1, 'one dead letter');
  assert.deepEqual(letters[0]!.subject, { kind: 'document', id: 'doc-wiped' });
  const failure = FailureRecordSchema.parse(JSON.parse(p.results.failures.get('doc-wiped') ?? 'null'));
  assert.equal(failure.code, 'E_CHECKPOINT_REGRESSED', 'a failure record, though the document record was lost');
});

test('a failover to a lagging replica (an older version) fails the document, marks it failed and drops its state', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 256 });
  await submit(p, 'doc-lagging');
  await runQueued(p, 2); // plan, chunk 0: version 1
  const key = `document/doc-lagging`;
  const older = { ...p.states.heads.get(key)! };
  await runQueued(p, 1); // chunk 1: version 2
  const next = p.queue.next()!;
  loseBeforeNextCommit(p.states, () => p.states.heads.set(key, older));
  const err = await runChunk(next.job as { kind: 'chunk'; doc: string; chunk: number }, p.deps, jobContext()).then(
    () => null,
    (e: unknown) => e,
  );
  assert.equal((err as { code?: string })?.code, 'E_CHECKPOINT_REGRESSED', String(err));
  await reportFailure(next.job, err, 1, p.deps);
  assert.equal((await p.documents.get('doc-lagging'))?.status, 'failed');
  assert.equal(
    FailureRecordSchema.parse(JSON.parse(p.results.failures.get('doc-lagging')!)).code,
    'E_CHECKPOINT_REGRESSED',
  );
  assert.equal(p.states.heads.has(key), false, 'the state is dropped');
});

test('a late writer of a finished document is still only superseded: the dropped state reports its last version', async () => {
  const p = memoryPipeline(engine, { chunkTokens: 256 });
  await submit(p, 'doc-done');
  await runQueued(p, 2); // plan, chunk 0: version 1
  const atVersion1 = p.states.heads.get('document/doc-done')!;
  await runQueued(p);
  assert.equal((await p.documents.get('doc-done'))?.status, 'done');
  // A run of chunk 1 that loaded version 1 before the document finished, paused past its lock, commits now.
  const outcome = await p.deps.checkpoints.commit(
    { kind: 'document', id: 'doc-done' },
    atVersion1,
    engine.model.newState(),
    { chunk: 2 },
  );
  assert.equal(outcome.ok, false);
  assert.ok(
    !outcome.ok && outcome.current > 1,
    `told the dropped state's last version, not 0: ${JSON.stringify(outcome)}`,
  );
});

test('an event stream whose checkpoint went back fails its drain with a dead letter', async () => {
  const p = memoryPipeline(engine, { anomaly: { batchEvents: 4 } });
  const event = (n: number): RawRecord => ({
    topic: 'events',
    partition: 0,
    offset: String(n),
    key: Buffer.from('s1'),
    value: Buffer.from(JSON.stringify({ schema: 'rwkvstream.event.v1', stream: 's1', text: `event ${n} happened` })),
    timestamp: '0',
  });
  for (let n = 0; n < 8; n++) await ingestEventRecord(event(n), p.deps);
  const first = p.queue.next()!;
  assert.equal(first.job.kind, 'drain');
  assert.equal(await runDrain(first.job as never, p.deps, jobContext()), 'applied');
  p.queue.markDone(first.id);
  const second = p.queue.next()!;
  loseBeforeNextCommit(p.states, () => p.states.heads.clear());
  const err = await runDrain(second.job as never, p.deps, jobContext()).then(
    () => null,
    (e: unknown) => e,
  );
  assert.equal((err as { code?: string })?.code, 'E_CHECKPOINT_REGRESSED', String(err));
  await reportFailure(second.job, err, 1, p.deps);
  assert.deepEqual(
    p.sinks.deadLetters.map((l) => [l.stage, l.code]),
    [['drain', 'E_CHECKPOINT_REGRESSED']],
  );
});
