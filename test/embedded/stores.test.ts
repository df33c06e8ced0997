// The embedded adapters of the ports on their own: fenced commits and what survives a failing disk, damaged
// files refused by name, token ids across segments, parts, the event log's sequence numbers across a resume,
// the queue's ids and delays, the result file's deduplication, and the job directory's key and lock.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import type { CheckpointWrite, StateKey } from '../../pipelines/ports.ts';
import { EMBEDDED_FORMAT, type DocumentJob } from '../../schemas/embedded.ts';
import type { DocumentRecord } from '../../schemas/records.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { FileDocumentStore } from '../../services/adapters/files/document-store.ts';
import { MemoryEventLog } from '../../services/adapters/memory/event-log.ts';
import { JobDir, jobKey } from '../../services/adapters/files/job-dir.ts';
import { MemoryJobQueue } from '../../services/adapters/memory/queue.ts';
import { FileResultSink } from '../../services/adapters/files/result-sink.ts';
import { FileStateStore } from '../../services/adapters/files/state-store.ts';
import { failingOps, tempDir } from './helpers.ts';

const KEY: StateKey = { kind: 'document', id: 'doc/1' };

function write(n: number, extra: Partial<CheckpointWrite> = {}): CheckpointWrite {
  return {
    blob: Buffer.alloc(1000 + n, n),
    chunk: n,
    tokens: 64 * n,
    cursor: 0,
    result: null,
    writer: 'test',
    ...extra,
  };
}

test('commits are fenced on the version they start from, and survive reopening the directory', async () => {
  const dir = tempDir('states');
  const store = await FileStateStore.open(dir);
  assert.equal(await store.head(KEY), null);
  assert.deepEqual(await store.commit(KEY, 0, write(1)), { ok: true, version: 1 });
  assert.deepEqual(await store.commit(KEY, 0, write(9)), { ok: false, current: 1 }, 'a stale commit changes nothing');
  assert.deepEqual(await store.commit(KEY, 1, write(2, { result: '{"batch":0}' })), { ok: true, version: 2 });

  const reopened = await FileStateStore.open(dir);
  const head = (await reopened.head(KEY))!;
  assert.equal(head.version, 2);
  assert.equal(head.chunk, 2);
  assert.equal(head.tokens, 128);
  assert.equal(head.result, '{"batch":0}');
  assert.equal(head.published, false);
  assert.deepEqual(await reopened.blob(KEY, head), Buffer.alloc(1002, 2));
  assert.equal(await reopened.blob(KEY, { ...head, version: 1 }), null, 'an older version is no longer readable');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.state')),
    [head.ref],
    'only the committed blob is kept',
  );

  await reopened.markPublished(KEY, 1);
  assert.equal((await reopened.head(KEY))!.published, false, 'marking an older version changes nothing');
  await reopened.markPublished(KEY, 2);
  assert.equal((await (await FileStateStore.open(dir)).head(KEY))!.published, true);

  await reopened.drop(KEY);
  assert.equal(await reopened.head(KEY), null);
  assert.deepEqual(readdirSync(dir), [], 'a dropped state leaves nothing behind');
});

test('a disk that fails at any step of a commit keeps the last good checkpoint, and the next commit succeeds', async () => {
  for (const step of ['open', 'write', 'sync', 'rename'] as const) {
    for (const target of ['.state', '.head.json']) {
      const dir = tempDir('full-disk');
      let failing = false;
      const ops = failingOps((s, file) => failing && s === step && file.includes(target));
      const store = await FileStateStore.open(dir, ops);
      await store.commit(KEY, 0, write(1));
      failing = true;
      await assert.rejects(
        store.commit(KEY, 1, write(2)),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'E_CHECKPOINT_WRITE');
          assert.match(err.message, /no space left on the device \(ENOSPC\)/);
          assert.match(err.message, new RegExp(`${target.replace('.', '\\.')}`), 'the error names the file');
          return true;
        },
        `${step} of ${target}`,
      );
      assert.deepEqual(ops.failures.length > 0, true);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('.tmp-')),
        [],
        'no temporary file is left',
      );

      const after = await FileStateStore.open(dir);
      const head = (await after.head(KEY))!;
      assert.equal(head.version, 1, `${step} of ${target}: the last good checkpoint is still the head`);
      assert.deepEqual(await after.blob(KEY, head), Buffer.alloc(1001, 1), 'and its blob is intact');

      failing = false;
      const healed = await FileStateStore.open(dir, ops);
      assert.deepEqual(
        await healed.commit(KEY, 1, write(2)),
        { ok: true, version: 2 },
        'once the disk has room, the job goes on',
      );
    }
  }
});

test('a damaged head or blob is refused with the file named; a blob nothing names is swept', async () => {
  const dir = tempDir('damaged');
  const store = await FileStateStore.open(dir);
  await store.commit(KEY, 0, write(1));
  const headFile = readdirSync(dir).find((f) => f.endsWith('.head.json'))!;
  const blobFile = readdirSync(dir).find((f) => f.endsWith('.state'))!;

  const blobBytes = readFileSync(path.join(dir, blobFile));
  blobBytes.writeUInt8(blobBytes.readUInt8(500) ^ 0xff, 500);
  writeFileSync(path.join(dir, blobFile), blobBytes);
  const flipped = await FileStateStore.open(dir);
  await assert.rejects(
    flipped.blob(KEY, (await flipped.head(KEY))!),
    (err: Error & { code?: string }) =>
      err.code === 'E_CHECKPOINT_CORRUPT' &&
      err.message.includes(path.join(dir, blobFile)) &&
      /checksum/.test(err.message),
  );

  writeFileSync(path.join(dir, headFile), '{"format":1,"version":');
  await assert.rejects(
    (await FileStateStore.open(dir)).head(KEY),
    (err: Error & { code?: string }) =>
      err.code === 'E_CHECKPOINT_CORRUPT' &&
      err.message.includes(path.join(dir, headFile)) &&
      /not valid JSON/.test(err.message),
  );
  assert.ok(readdirSync(dir).includes(blobFile), 'the blob of a damaged head is kept');

  const other = tempDir('orphans');
  const s = await FileStateStore.open(other);
  await s.commit(KEY, 0, write(1));
  writeFileSync(
    path.join(
      other,
      readdirSync(other)
        .find((f) => f.endsWith('.state'))!
        .replace('.v1.', '.v2.'),
    ),
    'left by a commit that died',
  );
  await FileStateStore.open(other);
  assert.equal(readdirSync(other).filter((f) => f.endsWith('.state')).length, 1, 'the orphan blob is removed on open');
});

function record(id: string, tokens: number, layout: DocumentRecord['layout']): DocumentRecord {
  return {
    id,
    task: SummarizeTaskSchema.parse({ kind: 'summarize' }),
    bytes: tokens,
    sha256: '0'.repeat(64),
    tokens,
    chunkTokens: 64,
    chunks: Math.ceil(tokens / 64),
    layout,
    tokenizer: { kind: 'bytes', fingerprint: '0123456789abcdef' },
  };
}

test('token ids are written across segments, read back by any range, and freed when the document completes', async () => {
  const dir = tempDir('tokens');
  const store = await FileDocumentStore.open(dir, { maxDocumentBytes: 1 << 20 });
  const ids = Int32Array.from({ length: 2500 }, (_, i) => (i * 7919) % 65536);
  const writer = store.openTokenWriter('doc-1', 1000);
  await writer.append(ids.subarray(0, 1300));
  await writer.append(ids.subarray(1300));
  assert.deepEqual(writer.layout().segments, 3);
  const rec = record('doc-1', ids.length, writer.layout());
  assert.deepEqual(await store.create(rec), { created: true });
  const again = await store.create({ ...rec, bytes: 1 });
  assert.equal(again.created, false, 'a document is created once');

  for (const [start, end] of [
    [0, 64],
    [990, 1010],
    [1999, 2500],
    [0, 2500],
  ] as const) {
    assert.deepEqual(await store.readTokens(rec, start, end), ids.subarray(start, end), `[${start}, ${end})`);
  }
  const reopened = await FileDocumentStore.open(dir, { maxDocumentBytes: 1 << 20 });
  assert.deepEqual(await reopened.get('doc-1'), { record: rec, status: 'running' });

  // An attempt that died before creating its document leaves token files no record names: swept on open.
  const dead = reopened.openTokenWriter('doc-2', 1000);
  await dead.append(ids.subarray(0, 10));
  await FileDocumentStore.open(dir, { maxDocumentBytes: 1 << 20 });
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('tokens-doc-2')).length, 0);
  assert.equal(
    readdirSync(dir).filter((f) => f.startsWith('tokens-doc-1')).length,
    3,
    'the planned document keeps its ids',
  );

  const segment = readdirSync(dir).find((f) => f.startsWith('tokens-doc-1') && f.endsWith('-2.i32'))!;
  truncateSync(path.join(dir, segment), 100);
  await assert.rejects(
    reopened.readTokens(rec, 2400, 2500),
    (err: Error & { code?: string }) => err.code === 'E_CHECKPOINT_CORRUPT' && err.message.includes(segment),
  );

  await reopened.complete(rec, 'done');
  assert.equal((await (await FileDocumentStore.open(dir, { maxDocumentBytes: 1 << 20 })).get('doc-1'))!.status, 'done');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('tokens-')).length, 0, 'a finished document frees its ids');
});

test('parts are assembled in any order, conflicts are refused, and the size limit holds', async () => {
  const store = await FileDocumentStore.open(tempDir('parts'), { maxDocumentBytes: 10 });
  const task = SummarizeTaskSchema.parse({ kind: 'summarize' });
  assert.deepEqual(await store.putPart('d', 1, false, Buffer.from('bbb'), null), { status: 'pending' });
  assert.equal(
    (await store.putPart('d', 0, true, Buffer.from('a'), task)).status,
    'rejected',
    'a final part before a later one',
  );
  assert.deepEqual(await store.putPart('d', 2, true, Buffer.from('cc'), task), { status: 'pending' });
  assert.equal(
    (await store.putPart('d', 3, false, Buffer.from('d'), null)).status,
    'rejected',
    'beyond the final part',
  );
  const tooBig = await store.putPart('d', 0, false, Buffer.from('123456'), null);
  assert.equal(tooBig.status === 'rejected' && tooBig.code, 'E_TOO_LARGE');
  assert.deepEqual(await store.putPart('d', 0, false, Buffer.from('aa'), null), { status: 'complete', count: 3, task });
  const parts: string[] = [];
  for await (const part of store.readParts('d', 3)) parts.push(part.toString());
  assert.deepEqual(parts, ['aa', 'bbb', 'cc']);
  await store.dropParts('d', 3);
  await assert.rejects(
    async () => {
      for await (const _ of store.readParts('d', 3)) void _;
    },
    { code: 'E_PART_MISSING' },
  );
});

test('the event log numbers events in delivery order and counts those before the checkpoint cursor as taken in', async () => {
  const dir = tempDir('events');
  const states = await FileStateStore.open(dir);
  const event = (offset: number) => ({
    text: `line ${offset}`,
    topic: 'app.log',
    partition: 0,
    offset: String(offset),
    receivedAt: offset,
  });
  const log = new MemoryEventLog(states);
  for (const offset of [1, 2, 4, 5]) assert.equal((await log.append('s', event(offset))).appended, true);
  assert.equal((await log.append('s', event(2))).appended, false, 'a record delivered again');
  assert.deepEqual(
    (await log.read('s', 1, 2)).map((e) => [e.seq, e.offset]),
    [
      [2, '2'],
      [3, '4'],
    ],
  );
  assert.deepEqual(await log.backlog('s', 1), { count: 3, oldestAt: 2 });
  await log.trim('s', 3);
  assert.deepEqual(
    (await log.read('s', 0, 10)).map((e) => e.seq),
    [4],
  );

  // A resumed run: the checkpoint has read events 1..3 (and is at batch 1); the same lines arrive again.
  await states.commit({ kind: 'stream', id: 's' }, 0, {
    blob: Buffer.alloc(8),
    chunk: 1,
    tokens: 30,
    cursor: 3,
    result: null,
    writer: 'test',
  });
  const resumed = new MemoryEventLog(states);
  assert.deepEqual(await resumed.append('s', event(1)), { appended: false, pending: 0, batch: 1 });
  await resumed.append('s', event(2));
  await resumed.append('s', event(4));
  assert.deepEqual(await resumed.append('s', event(5)), { appended: true, pending: 1, batch: 1 });
  assert.deepEqual(
    (await resumed.read('s', 3, 10)).map((e) => [e.seq, e.offset]),
    [[4, '5']],
    'event 4 has the number it had before',
  );
});

test('the queue runs jobs in order, ignores an id it holds or just ran, and holds delayed jobs until released', async () => {
  const queue = new MemoryJobQueue();
  await queue.enqueue({ kind: 'chunk', doc: 'a', chunk: 0 });
  await queue.enqueue({ kind: 'drain', stream: 's', batch: 0 }, { delayMs: 1000 });
  await queue.enqueue({ kind: 'chunk', doc: 'a', chunk: 0 });
  await queue.enqueue({ kind: 'chunk', doc: 'a', chunk: 1 });
  assert.deepEqual(queue.take(), { kind: 'chunk', doc: 'a', chunk: 0 });
  await queue.enqueue({ kind: 'chunk', doc: 'a', chunk: 0 });
  assert.deepEqual(
    queue.take(),
    { kind: 'chunk', doc: 'a', chunk: 1 },
    'the delayed drain waits; the job that ran is not added again',
  );
  assert.equal(queue.take(), null);
  await queue.expedite({ kind: 'drain', stream: 's', batch: 0 });
  assert.deepEqual(queue.take(), { kind: 'drain', stream: 's', batch: 0 });
  await queue.enqueue({ kind: 'drain', stream: 's', batch: 1 }, { delayMs: 50 });
  assert.equal(queue.take(), null);
  queue.release();
  assert.deepEqual(queue.take(), { kind: 'drain', stream: 's', batch: 1 });
  assert.equal(queue.size, 0);
});

test('the result file keeps one line per result, and drops a line cut short by a kill', async () => {
  const dir = tempDir('sink');
  const sink = await FileResultSink.open(dir);
  const batch = (n: number) => JSON.stringify({ kind: 'stream', id: 's', batch: n, events: [] });
  await sink.publish('s', batch(0));
  await sink.publish('s', batch(1));
  await sink.publish('s', batch(0));
  appendFileSync(sink.file, '{"kind":"stream","id":"s","bat');
  const reopened = await FileResultSink.open(dir);
  await reopened.publish('s', batch(1));
  await reopened.publish('s', batch(2));
  const lines: string[] = [];
  for await (const line of reopened.results()) lines.push(line);
  assert.deepEqual(lines, [batch(0), batch(1), batch(2)]);
});

function description(over: Partial<DocumentJob> = {}): DocumentJob {
  return {
    format: EMBEDDED_FORMAT,
    command: 'summarize',
    id: 'doc.txt',
    source: 'doc.txt',
    sha256: 'a'.repeat(64),
    bytes: 100,
    task: SummarizeTaskSchema.parse({ kind: 'summarize' }),
    chunkTokens: 4096,
    model: { version: 'x070', fingerprint: '1111111111111111' },
    tokenizer: { kind: 'bytes', fingerprint: '2222222222222222' },
    weights: 'f32',
    device: 'cpu',
    ...over,
  };
}

test("a job's key changes with anything its result depends on", () => {
  const base = jobKey(description());
  assert.equal(jobKey(description()), base);
  const variants: Partial<DocumentJob>[] = [
    { sha256: 'b'.repeat(64) },
    { id: 'other' },
    { task: SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 20 }) },
    { chunkTokens: 64 },
    { model: { version: 'x070', fingerprint: '3333333333333333' } },
    { tokenizer: { kind: 'world', fingerprint: '2222222222222222' } },
    { weights: 'bf16' },
    { device: 'cuda' },
    {
      command: 'classify',
      task: {
        kind: 'classify',
        promptFormat: 'raw',
        labels: ['a', 'b'],
        template: '\n\nCategory:',
        labelPrefix: ' ',
        score: 'sum',
      },
    },
  ];
  const keys = new Set(variants.map((v) => jobKey(description(v))));
  assert.equal(keys.size, variants.length);
  assert.ok(!keys.has(base));
});

test('a job directory is locked against a live process, taken over from a dead one, and checked against its key', async () => {
  const root = tempDir('jobs');
  const job = await JobDir.open(root, description());
  const lock = path.join(job.path, 'lock');
  await job.release();

  writeFileSync(lock, `${process.ppid} ${os.hostname()}\n`);
  await assert.rejects(
    JobDir.open(root, description()),
    (err: Error & { code?: string }) => err.code === 'E_JOB_BUSY' && err.message.includes(`pid ${process.ppid}`),
  );

  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(lock, `${gone} ${os.hostname()}\n`);
  const taken = await JobDir.open(root, description());
  assert.equal(
    JSON.parse(readFileSync(lock, 'utf8')).pid,
    process.pid,
    'the lock of a process that is gone is taken over',
  );
  await taken.release();

  writeFileSync(path.join(job.path, 'job.json'), JSON.stringify(description({ bytes: 5 })));
  await assert.rejects(
    JobDir.open(root, description()),
    (err: Error & { code?: string }) =>
      err.code === 'E_CHECKPOINT_CORRUPT' && err.message.includes(path.join(job.path, 'job.json')),
  );
  const restarted = await JobDir.open(root, description(), { restart: true });
  assert.deepEqual(readdirSync(restarted.path).sort(), ['job.json', 'lock']);
  await restarted.remove();
  assert.deepEqual(readdirSync(root), []);
});
