// A chat prompt format through both pipelines on the tiny byte-level model (token ids are the bytes): what the
// model reads is the prefix once, the folded document, then the instruction and the assistant's turn — in one
// run, in a run stopped and resumed from its checkpoint, and in the distributed pipeline with redelivered
// chunk jobs. The prefix is never read twice, and every run gives the same result.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { runChunk } from '../../pipelines/document-chunk.ts';
import { ingestDocumentRecord } from '../../pipelines/ingest.ts';
import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { DOCUMENT_SCHEMA_V1 } from '../../schemas/documents.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import type { LogitsMode } from '../../schemas/engine.ts';
import { Engine, type RnnState } from '../../engine/index.ts';
import { prepareInput, runDocumentJob, spoolPath, type JobObserver } from '../../services/embedded/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { jobContext, memoryPipeline, quietLog, runQueued } from '../pipeline/memory-ports.ts';
import { tempDir } from './helpers.ts';

interface Read {
  tokens: number[];
  logits: LogitsMode;
}

let engine: Engine;
let reads: Read[] = [];
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
  // Every model call is recorded: what the model reads is what these tests check.
  const forward = engine.model.forward.bind(engine.model);
  engine.model.forward = (tokens: ArrayLike<number>, state: RnnState, logits: LogitsMode = 'last') => {
    reads.push({ tokens: Array.from(tokens), logits });
    return forward(tokens, state, logits);
  };
  // Answers are generated on a resident state (summarize keeps it in the engine between tokens).
  const forwardResident = engine.model.forwardResident.bind(engine.model);
  engine.model.forwardResident = (streams) => {
    for (const s of streams) reads.push({ tokens: Array.from(s.tokens), logits: s.logits ?? 'last' });
    return forwardResident(streams);
  };
});
after(() => engine.dispose());

const PARAGRAPHS = Array.from(
  { length: 12 },
  (_, i) => `Entry ${i}: the river rose after ${i % 4} days of rain.\n\n`,
).join('');
const DOC = `\n${PARAGRAPHS}\n\n`;
const TASK = SummarizeTaskSchema.parse({
  kind: 'summarize',
  promptFormat: 'rwkv7-g',
  system: 'Be brief.',
  maxTokens: 6,
});
const PREFIX = 'System: Be brief.\n\nUser: ';
const FOLDED = PARAGRAPHS.trimEnd().replace(/\n\n/g, '\n');
const READ = [...Buffer.from(PREFIX + FOLDED)];
const TEMPLATE = [...Buffer.from('\nSummarize the text above in a few sentences.\n\nAssistant: <think>\n</think>')];
const CHUNK = 64;

/** The document's reads (the chunks, no logits) joined, and the reads with logits. */
function split(all: Read[]): { document: number[]; answer: Read[] } {
  return {
    document: all.filter((r) => r.logits === 'none').flatMap((r) => r.tokens),
    answer: all.filter((r) => r.logits !== 'none'),
  };
}

class StopAfter implements JobObserver {
  #reports = 0;
  constructor(
    readonly limit: number,
    readonly controller: AbortController,
  ) {}
  start(): void {}
  progress(): void {
    if (++this.#reports >= this.limit) this.controller.abort();
  }
}

async function runEmbedded(
  file: string,
  checkpointDir: string,
  observer?: JobObserver,
  stop?: AbortSignal,
): Promise<{ status: string; results: string[] }> {
  const results: string[] = [];
  const end = await runDocumentJob(
    {
      engine,
      settings: PipelineSettingsSchema.parse({ chunkTokens: CHUNK }),
      checkpointDir,
      input: await prepareInput(file, spoolPath(checkpointDir)),
      id: 'river.txt',
      weights: engine.model.info.weights,
      device: engine.model.info.device,
      stop: stop ?? new AbortController().signal,
      log: quietLog,
      observer: observer ?? { start() {}, progress() {} },
      task: TASK,
    },
    async (delivered) => {
      for await (const json of delivered) results.push(json);
    },
  );
  return { status: end.status, results };
}

function inputFile(): string {
  const file = path.join(tempDir('input'), 'river.txt');
  writeFileSync(file, DOC);
  return file;
}

let reference: string;

test("embedded: the prefix once, the folded document chunk by chunk, then the instruction and the assistant's turn", async () => {
  reads = [];
  const { status, results } = await runEmbedded(inputFile(), tempDir('ckpt'));
  assert.equal(status, 'done');
  const { document, answer } = split(reads);
  assert.deepEqual(document, READ);
  assert.deepEqual(
    reads[0]!.tokens.slice(0, PREFIX.length),
    [...Buffer.from(PREFIX)],
    'chunk 0 starts with the prefix',
  );
  assert.deepEqual(answer[0]!.tokens, TEMPLATE);
  assert.ok(
    answer.slice(1).every((r) => r.tokens.length === 1),
    'then one generated token at a time',
  );
  const result = DocumentResultSchema.parse(JSON.parse(results[0]!));
  assert.equal(result.promptFormat, 'rwkv7-g');
  assert.equal(result.tokens, READ.length);
  assert.equal(result.chunks, Math.ceil(READ.length / CHUNK));
  reference = results[0]!;
});

test('embedded: a run stopped between chunks resumes without reading the prefix again, to the same result', async () => {
  const file = inputFile();
  const checkpointDir = tempDir('ckpt');
  reads = [];
  const controller = new AbortController();
  const stopped = await runEmbedded(file, checkpointDir, new StopAfter(3, controller), controller.signal);
  assert.equal(stopped.status, 'interrupted');
  const before = split(reads).document.length;
  assert.ok(before > PREFIX.length && before < READ.length, `stopped after ${before} of ${READ.length} tokens`);
  const resumedFrom = reads.length;
  const resumed = await runEmbedded(file, checkpointDir);
  assert.equal(resumed.status, 'done');
  assert.notDeepEqual(
    reads[resumedFrom]!.tokens.slice(0, PREFIX.length),
    [...Buffer.from(PREFIX)],
    'the resumed run starts after the checkpoint',
  );
  assert.deepEqual(split(reads).document, READ, 'both runs together read the prefix and the document exactly once');
  assert.deepEqual(resumed.results, [reference]);
});

test('distributed: redelivered chunk jobs do not read the prefix twice; the result is the embedded one', async () => {
  reads = [];
  const p = memoryPipeline(engine, { chunkTokens: CHUNK });
  const value = Buffer.from(
    JSON.stringify({ schema: DOCUMENT_SCHEMA_V1, id: 'river.txt', task: TASK, body: { kind: 'text', text: DOC } }),
  );
  await ingestDocumentRecord({ topic: 'docs', partition: 0, offset: '0', key: null, value, timestamp: '0' }, p.deps);
  await runQueued(p, 3); // plan, chunk 0, chunk 1
  assert.equal(await runChunk({ kind: 'chunk', doc: 'river.txt', chunk: 0 }, p.deps, jobContext()), 'skipped');
  assert.equal(await runChunk({ kind: 'chunk', doc: 'river.txt', chunk: 1 }, p.deps, jobContext()), 'already-applied');
  await runQueued(p);
  assert.deepEqual(split(reads).document, READ);
  assert.deepEqual(split(reads).answer[0]!.tokens, TEMPLATE);
  assert.equal(p.sinks.results[0]!.json, reference);
});
