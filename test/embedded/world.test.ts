// The World-vocabulary path: a random RWKV-7 model with the World vocabulary's 65536 ids (written by
// `rwkvstream random-model`, one layer to keep it quick), read with rwkv_vocab_v20230424.txt. Each command runs
// on a multi-chunk text in several scripts, and a stopped job resumes to the identical result.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';

import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { AnomalyResultSchema, ClassifyResultSchema, SummarizeResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { prepareInput, runDocumentJob, spoolPath, type JobObserver } from '../../services/embedded/index.ts';
import { Engine, Tokenizer } from '../../engine/index.ts';
import { worldVocab } from '../helpers/paths.ts';
import { quietLog } from '../pipeline/memory-ports.ts';
import { cli, tempDir } from './helpers.ts';

const dir = tempDir('world');
const modelFile = path.join(dir, 'world-L1.safetensors');
const doc = path.join(dir, 'notes.txt');
const log = path.join(dir, 'service.log');
const TEXT = Array.from(
  { length: 24 },
  (_, i) =>
    `Note ${i}: Grüße aus Köln — the shipment left the harbour on day ${i}. 你好，世界。Привет! Weather: ${['rain', 'sun', 'fog'][i % 3]}.\n`,
).join('');
const LOG_TEXT = Array.from({ length: 20 }, (_, i) =>
  i === 13 ? 'FATAL разрушение диска /dev/sda1 错误' : `INFO request ${i} served in ${20 + i}ms`,
).join('\n');
const ENV: NodeJS.ProcessEnv = {
  RWKVSTREAM_HOME: path.join(dir, 'home'),
  RWKVSTREAM_OFFLINE: '1',
  RWKVSTREAM_MODEL: '',
  RWKVSTREAM_VOCAB: '',
  RWKVSTREAM_CONFIG: '',
};
const common = () => [
  '--model',
  modelFile,
  '--vocab',
  worldVocab,
  '--checkpoint-dir',
  tempDir('ckpt'),
  '--json',
  '--quiet',
];

let worldTokens = 0;
before(async () => {
  writeFileSync(doc, TEXT);
  writeFileSync(log, LOG_TEXT);
  const made = await cli(['random-model', '--shape', '0.1b', '--layers', '1', '--vocab', '65536', '--out', modelFile]);
  assert.equal(made.code, 0, made.stderr);
  worldTokens = (await (await Tokenizer.world(worldVocab)).encode(TEXT)).length;
});

test('summarize and classify read a World-tokenized document in chunks', async () => {
  const [summary, classes] = await Promise.all([
    cli(['summarize', doc, ...common(), '--chunk-tokens', '64', '--max-tokens', '6'], { env: ENV }),
    cli(['classify', doc, ...common(), '--chunk-tokens', '64', '--labels', 'weather,shipping,greetings'], { env: ENV }),
  ]);
  assert.equal(summary.code, 0, summary.stderr);
  const s = SummarizeResultSchema.parse(JSON.parse(summary.stdout));
  assert.equal(s.tokenizer.kind, 'world');
  assert.equal(s.tokens, worldTokens, 'the document is tokenized with the World vocabulary');
  assert.ok(s.tokens < Buffer.byteLength(TEXT) / 2);
  assert.equal(s.chunks, Math.ceil(worldTokens / 64));
  assert.equal(s.summary.generatedTokens, 6);

  assert.equal(classes.code, 0, classes.stderr);
  const c = ClassifyResultSchema.parse(JSON.parse(classes.stdout));
  assert.equal(c.model.fingerprint, s.model.fingerprint);
  assert.deepEqual(
    c.classification.labels.map((l) => l.label),
    ['weather', 'shipping', 'greetings'],
  );
  assert.ok(c.classification.labels.every((l) => l.tokens >= 1 && l.probability > 0));
});

test('scan scores a log with the World vocabulary, non-ASCII lines included', async () => {
  const out = await cli(['scan', log, ...common(), '--batch-lines', '6'], { env: ENV });
  assert.equal(out.code, 0, out.stderr);
  const batches = out.stdout
    .trim()
    .split('\n')
    .map((line) => AnomalyResultSchema.parse(JSON.parse(line)));
  assert.deepEqual(
    batches.map((b) => b.events.length),
    [6, 6, 6, 2],
  );
  const events = batches.flatMap((b) => b.events);
  assert.equal(batches[0]!.tokenizer.kind, 'world');
  const tokenizer = await Tokenizer.world(worldVocab);
  const lines = LOG_TEXT.split('\n');
  assert.deepEqual(
    events.map((e) => e.tokens),
    await Promise.all(lines.map(async (line) => (await tokenizer.encode(line)).length)),
  );
});

test('a World-vocabulary job stopped between chunks resumes to the identical result', async () => {
  using engine = await Engine.load({ model: modelFile, vocab: worldVocab, threads: 1 });
  const task = SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 6 });
  const once = async (checkpointDir: string, stop: AbortSignal, observer: JobObserver) => {
    const results: string[] = [];
    const end = await runDocumentJob(
      {
        engine,
        task,
        settings: PipelineSettingsSchema.parse({ chunkTokens: 32 }),
        checkpointDir,
        input: await prepareInput(doc, spoolPath(checkpointDir)),
        id: 'notes.txt',
        weights: engine.model.info.weights,
        device: engine.model.info.device,
        stop,
        log: quietLog,
        observer,
      },
      async (delivered) => {
        for await (const json of delivered) results.push(json);
      },
    );
    return { end, results };
  };
  const idle: JobObserver = { start() {}, progress() {} };
  const reference = await once(tempDir('ckpt'), new AbortController().signal, idle);

  const checkpointDir = tempDir('ckpt');
  const controller = new AbortController();
  let reports = 0;
  const stopping: JobObserver = { start() {}, progress: () => void (++reports === 4 && controller.abort()) };
  assert.equal((await once(checkpointDir, controller.signal, stopping)).end.status, 'interrupted');
  const starts: boolean[] = [];
  const resumed = await once(checkpointDir, new AbortController().signal, {
    start: (info) => void starts.push(info.resumed),
    progress() {},
  });
  assert.deepEqual(starts, [true]);
  assert.deepEqual(resumed.results, reference.results);
  assert.equal(SummarizeResultSchema.parse(JSON.parse(resumed.results[0]!)).chunks, Math.ceil(worldTokens / 32));
});
