// The result an undisturbed run publishes for a document: the fault suite compares every disturbed run's result
// with it byte for byte. It is computed by the pipelines' own plan, chunk and finish steps over the embedded
// ports (one process, checkpoints in a scratch directory), on the engine a test worker loads (the tiny model,
// one thread, f32 on the CPU), so it is the bytes the distributed workers publish for the same id, text, task
// and chunk size (test/faults/reference.test.ts checks that against a real worker). Each input is computed once.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Log } from '../../pipelines/ports.ts';
import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { EngineOptionsSchema } from '../../schemas/engine.ts';
import { DocumentTaskSchema, type DocumentTaskInput } from '../../schemas/tasks.ts';
import { prepareInput, runDocumentJob, spoolPath, type JobObserver } from '../../services/embedded/index.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';

export interface ReferenceDocument {
  id: string;
  text: string;
  task: DocumentTaskInput;
  chunkTokens: number;
}

const silent: Log = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const unobserved: JobObserver = { start() {}, progress() {} };

let engine: Promise<Engine> | null = null;
const cache = new Map<string, Promise<string>>();
// One reference at a time: they share the engine, and the suite's workers need the CPU more.
let queue: Promise<unknown> = Promise.resolve();

function loadEngine(): Promise<Engine> {
  // The options `spawnWorker` gives `rwkvstream worker` (--model tiny --threads 1, default weights and device).
  engine ??= Engine.load(EngineOptionsSchema.parse({ model: tinyModel, threads: 1 }));
  return engine;
}

function cacheKey(doc: ReferenceDocument): string {
  const task = DocumentTaskSchema.parse(doc.task);
  return createHash('sha256')
    .update(JSON.stringify([doc.id, doc.text, task, doc.chunkTokens]))
    .digest('hex');
}

async function compute(doc: ReferenceDocument): Promise<string> {
  const task = DocumentTaskSchema.parse(doc.task);
  const loaded = await loadEngine();
  const dir = await mkdtemp(path.join(tmpdir(), 'rwkvstream-reference-'));
  try {
    const file = path.join(dir, 'document.txt');
    await writeFile(file, doc.text);
    const checkpointDir = path.join(dir, 'jobs');
    const results: string[] = [];
    const end = await runDocumentJob(
      {
        engine: loaded,
        settings: PipelineSettingsSchema.parse({ chunkTokens: doc.chunkTokens }),
        checkpointDir,
        input: await prepareInput(file, spoolPath(checkpointDir)),
        id: doc.id,
        weights: loaded.model.info.weights,
        device: loaded.model.info.device,
        stop: new AbortController().signal,
        log: silent,
        observer: unobserved,
        task,
      },
      async (delivered) => {
        for await (const json of delivered) results.push(json);
      },
    );
    if (end.status !== 'done' || results.length !== 1) {
      throw new Error(`the reference run of ${doc.id} ended ${end.status} with ${results.length} results`);
    }
    return results[0]!;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The exact result JSON an undisturbed distributed run publishes for this document (cached per input). */
export function referenceResult(doc: ReferenceDocument): Promise<string> {
  const key = cacheKey(doc);
  let result = cache.get(key);
  if (!result) {
    result = queue.then(() => compute(doc));
    queue = result.catch(() => {});
    // A failed computation is not cached: the next call tries again and reports its own error.
    result.catch(() => cache.delete(key));
    cache.set(key, result);
  }
  return result;
}

/** Frees the reference engine (the next call loads it again). */
export async function disposeReferenceEngine(): Promise<void> {
  const loading = engine;
  engine = null;
  if (loading) (await loading).dispose();
}
