// Embedded jobs in this process on the tiny byte-level model: the result is the distributed pipeline's for the
// same document, a stop between steps resumes to the identical result, and so does a process killed at any
// write — every point of a small document's run is tried.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import { PipelineSettingsSchema, type PipelineSettingsInput } from '../../schemas/config.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { AnomalyResultSchema, DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema, type DocumentTask } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import {
  prepareInput,
  runDocumentJob,
  runScanJob,
  spoolPath,
  type Deliver,
  type FileOps,
  type JobEnd,
  type JobObserver,
  type JobOptions,
} from '../../services/embedded/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { memoryPipeline, quietLog, runQueued } from '../pipeline/memory-ports.ts';
import { dyingOps, jobDirs, tempDir } from './helpers.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});
after(() => engine.dispose());

const TEXT = Array.from(
  { length: 40 },
  (_, i) => `Entry ${i}: the river rose after ${i % 7} days of rain, and the town watched it.\n`,
).join('');
const LOG = Array.from({ length: 50 }, (_, i) =>
  i === 31
    ? 'kernel: BUG: unable to handle page fault at 0xdeadbeef\n'
    : i % 9 === 4
      ? '\n'
      : `GET /item/${i % 5} 200 ${10 + (i % 3)}ms\n`,
).join('');
const SUMMARIZE: DocumentTask = SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 24 });

class Recorder implements JobObserver {
  starts: { resumed: boolean; done: number; total: number | undefined }[] = [];
  reports: [number, number][] = [];
  #stopAfter: { reports: number; controller: AbortController } | undefined;

  stopAfter(reports: number, controller: AbortController): this {
    this.#stopAfter = { reports, controller };
    return this;
  }

  start(info: { resumed: boolean; done: number; total: number | undefined }): void {
    this.starts.push(info);
  }

  progress(done: number, total: number): void {
    this.reports.push([done, total]);
    if (this.#stopAfter && this.reports.length >= this.#stopAfter.reports) this.#stopAfter.controller.abort();
  }
}

function collector(): { deliver: Deliver; results: string[] } {
  const results: string[] = [];
  return {
    results,
    deliver: async (delivered) => {
      for await (const json of delivered) results.push(json);
    },
  };
}

interface Setup {
  file: string;
  checkpointDir: string;
  settings?: PipelineSettingsInput;
  observer?: JobObserver;
  stop?: AbortSignal;
  ops?: FileOps;
}

async function options(s: Setup): Promise<JobOptions> {
  return {
    engine,
    settings: PipelineSettingsSchema.parse({ chunkTokens: 64, ...s.settings }),
    checkpointDir: s.checkpointDir,
    input: await prepareInput(s.file, spoolPath(s.checkpointDir)),
    id: path.basename(s.file),
    weights: engine.model.info.weights,
    device: engine.model.info.device,
    stop: s.stop ?? new AbortController().signal,
    log: quietLog,
    observer: s.observer ?? new Recorder(),
    ...(s.ops ? { ops: s.ops } : {}),
  };
}

async function summarizeOnce(s: Setup, task = SUMMARIZE): Promise<{ end: JobEnd; results: string[] }> {
  const out = collector();
  const end = await runDocumentJob({ ...(await options(s)), task }, out.deliver);
  return { end, results: out.results };
}

/** Scans a log file to its end (or a stop); `results` are the batches printed by this run. */
async function scanOnce(s: Setup, results: string[] = []): Promise<{ end: JobEnd; results: string[] }> {
  const { input: _hashed, ...rest } = await options(s);
  const end = await runScanJob({
    ...rest,
    source: { kind: 'file', path: s.file, name: path.basename(s.file), follow: false },
    printer: async (json) => {
      results.push(json);
    },
  });
  return { end, results };
}

/** The batches of several runs, each batch once (a run killed after printing a batch may print it again). */
function byBatch(...runs: string[][]): string[] {
  const batches = new Map<number, string>();
  for (const json of runs.flat()) {
    const batch = AnomalyResultSchema.parse(JSON.parse(json)).batch;
    const seen = batches.get(batch);
    assert.ok(seen === undefined || seen === json, `batch ${batch} printed twice with different contents`);
    batches.set(batch, json);
  }
  return [...batches.keys()].sort((a, b) => a - b).map((b) => batches.get(b)!);
}

function inputFile(name: string, text: string): string {
  const file = path.join(tempDir('input'), name);
  writeFileSync(file, text);
  return file;
}

test("an embedded document job gives the distributed pipeline's result, byte for byte, and leaves nothing behind", async () => {
  const file = inputFile('river.txt', TEXT);
  const checkpointDir = tempDir('ckpt');
  const { end, results } = await summarizeOnce({ file, checkpointDir });
  assert.deepEqual(end, { status: 'done' });
  assert.equal(results.length, 1);
  const result = DocumentResultSchema.parse(JSON.parse(results[0]!));
  assert.equal(result.chunks, Math.ceil(Buffer.byteLength(TEXT) / 64));

  const p = memoryPipeline(engine, { chunkTokens: 64 });
  const value = Buffer.from(
    JSON.stringify({
      schema: DOCUMENT_SCHEMA_V1,
      id: 'river.txt',
      task: SUMMARIZE,
      body: { kind: 'text', text: TEXT },
    }),
  );
  await ingestDocumentRecord({ topic: 'docs', partition: 0, offset: '0', key: null, value, timestamp: '0' }, p.deps);
  await runQueued(p);
  assert.equal(results[0], p.sinks.results[0]!.json);
  assert.deepEqual(jobDirs(checkpointDir), [], "the finished job's directory is removed");
});

test('a job stopped between chunks resumes from its checkpoint to the identical result', async () => {
  const file = inputFile('river.txt', TEXT);
  const reference = await summarizeOnce({ file, checkpointDir: tempDir('ckpt') });
  const checkpointDir = tempDir('ckpt');
  const controller = new AbortController();
  const first = new Recorder().stopAfter(12, controller);
  const stopped = await summarizeOnce({ file, checkpointDir, observer: first, stop: controller.signal });
  assert.equal(stopped.end.status, 'interrupted');
  assert.match((stopped.end as { position: string }).position, /^chunk 11 of 45$/);
  assert.deepEqual(stopped.results, []);

  const second = new Recorder();
  const resumed = await summarizeOnce({ file, checkpointDir, observer: second });
  assert.deepEqual(second.starts, [{ resumed: true, done: 11 * 64, total: Buffer.byteLength(TEXT) }]);
  assert.equal(second.reports[0]![0], 12 * 64, 'the first chunk run is the one after the checkpoint');
  assert.deepEqual(resumed.results, reference.results);
});

test('a process killed at any write of a document job resumes to the identical result', async () => {
  const text = TEXT.slice(0, 200);
  const file = inputFile('short.txt', text);
  const task: DocumentTask = {
    kind: 'classify',
    promptFormat: 'raw',
    labels: ['weather', 'finance'],
    template: '\nTopic:',
    labelPrefix: ' ',
    score: 'sum',
  };
  const reference = await summarizeOnce({ file, checkpointDir: tempDir('ckpt') }, task);
  let deaths = 0;
  // Every third step of the run: planning, each chunk's blob and head, the result, the cleanup.
  for (let steps = 0; ; steps += 3) {
    const checkpointDir = tempDir('kill');
    const ops = dyingOps(steps);
    let first: string[] = [];
    try {
      first = (await summarizeOnce({ file, checkpointDir, ops }, task)).results;
    } catch (err) {
      assert.ok(ops.dead(), `died only of the kill: ${(err as Error).message}`);
    }
    if (!ops.dead()) {
      // Past the last write: the run completed.
      assert.deepEqual(first, reference.results);
      break;
    }
    deaths++;
    const again = await summarizeOnce({ file, checkpointDir }, task);
    assert.deepEqual(again.results, reference.results, `killed after ${steps} file operations`);
    assert.deepEqual(jobDirs(checkpointDir), []);
  }
  assert.ok(deaths > 25, `the run's write points were tried (${deaths})`);
});

test('a log scan stopped between batches, or killed at any write, resumes to the identical batches, each printed once', async () => {
  const file = inputFile('app.log', LOG);
  const settings = { anomaly: { batchEvents: 8 } };
  const reference = await scanOnce({ file, checkpointDir: tempDir('ckpt'), settings });
  const batches = reference.results.map((json) => AnomalyResultSchema.parse(JSON.parse(json)));
  const lines = LOG.split('\n').slice(0, -1);
  const eventLines = lines.flatMap((line, i) => (line.length > 0 ? [String(i + 1)] : []));
  assert.deepEqual(
    batches.map((b) => b.batch),
    [0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.events.map((e) => e.offset)),
    eventLines,
    'one event per non-empty line, by line number',
  );
  assert.deepEqual(
    batches.flatMap((b) => b.events.map((e) => e.seq)),
    eventLines.map((_, i) => i + 1),
  );

  const checkpointDir = tempDir('ckpt');
  const controller = new AbortController();
  const stopped = await scanOnce({
    file,
    checkpointDir,
    settings,
    observer: new Recorder().stopAfter(2, controller),
    stop: controller.signal,
  });
  assert.equal(stopped.end.status, 'interrupted');
  const observer = new Recorder();
  const resumed = await scanOnce({ file, checkpointDir, settings, observer });
  assert.equal(observer.starts[0]!.resumed, true);
  assert.deepEqual(
    [...stopped.results, ...resumed.results],
    reference.results,
    'a stop loses nothing and repeats nothing',
  );
  assert.deepEqual(jobDirs(checkpointDir), [], 'a scan that read its input to the end leaves no checkpoint');

  const short = inputFile('short.log', LOG.split('\n').slice(0, 20).join('\n'));
  const shortReference = await scanOnce({ file: short, checkpointDir: tempDir('ckpt'), settings });
  assert.equal(shortReference.results.length, 3);
  for (let steps = 0; ; steps += 4) {
    const dir = tempDir('kill');
    const ops = dyingOps(steps);
    const killed: string[] = [];
    try {
      await scanOnce({ file: short, checkpointDir: dir, settings, ops }, killed);
    } catch (err) {
      assert.ok(ops.dead(), (err as Error).message);
    }
    if (!ops.dead()) break;
    const after = (await scanOnce({ file: short, checkpointDir: dir, settings })).results;
    assert.deepEqual(byBatch(killed, after), shortReference.results, `killed after ${steps} operations`);
  }
});

test('a log line too long to be an event is reported and skipped; the others are scored', async () => {
  const file = inputFile('long.log', `first line\n${'x'.repeat(300)}\nthird line\n`);
  const rejected: string[] = [];
  const observer: JobObserver = {
    ...new Recorder(),
    start() {},
    progress() {},
    rejected: (letter) => rejected.push(`${letter.source?.offset} ${letter.code}`),
  };
  const { results } = await scanOnce({
    file,
    checkpointDir: tempDir('ckpt'),
    settings: { maxEventBytes: 100 },
    observer,
  });
  assert.deepEqual(rejected, ['2 E_OVERSIZED']);
  assert.deepEqual(
    results.flatMap((json) => AnomalyResultSchema.parse(JSON.parse(json)).events.map((e) => e.offset)),
    ['1', '3'],
  );
});
