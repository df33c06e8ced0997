// The measurements of the product on a GPU machine, run by bench/gpu/run.sh from the unpacked kit (or here
// with --device cpu --small): each step against the engine alone (rwkv_bench) in the same run, on models the
// project's random-model command writes there. Every step has a time budget; a step that runs out of it, or
// fails, is recorded with its reason and the next one runs. Writes gpu-results.json and gpu-results.md.
//
//   node --import tsx bench/gpu/measure.ts --out DIR --bench PATH --redis URL --vocab FILE|bytes [options]
//     --device cuda|cpu      (default cuda)
//     --small                tiny sizes: one-layer models, short documents (a layout check, not a measurement)
//     --steps LIST           summarize,worker,generate (default all)
//     --shapes LIST          model shapes of the summarize and worker steps (default 0.1b,1.5b)
//     --doc-tokens N         the embedded summarize document (default 1000000)
//     --worker-docs N        documents submitted at once to the worker (default 64)
//     --worker-tokens N      tokens per worker document (default 65536)
//     --gen-shape S          the generation step's model (default 7.2b)
//     --gen-tokens N         tokens to generate (default 256)
//     --budget-s N           seconds per step at most (default 150)
//     --total-s N            seconds for all steps together (default 450); a step gets what is left, up to
//                            its own budget, and the steps run most telling first (the first shape's
//                            summarize and worker, generation, then the other shapes)
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { Redis } from 'ioredis';

import { summarize } from '../../pipelines/tasks/summarize.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine, Tokenizer } from '../../engine/index.ts';
import { submitFile } from '../../services/submit/submit-document.ts';
import { InboxPublisher } from '../../services/adapters/bullmq/inbox.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import { RedisStateStore } from '../../services/adapters/redis/state-store.ts';
import { writeDocument } from '../pipeline/document.ts';
import { startWorker } from '../pipeline/processes.ts';
import { quantile } from '../pipeline/stats.ts';

const exec = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repoRoot, 'bin', 'rwkvstream.mjs');

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    work: { type: 'string' },
    bench: { type: 'string' },
    redis: { type: 'string' },
    vocab: { type: 'string' },
    device: { type: 'string', default: 'cuda' },
    small: { type: 'boolean', default: false },
    steps: { type: 'string', default: 'summarize,worker,generate' },
    shapes: { type: 'string', default: '0.1b,1.5b' },
    'doc-tokens': { type: 'string', default: '1000000' },
    'worker-docs': { type: 'string', default: '64' },
    'worker-tokens': { type: 'string', default: '65536' },
    'gen-shape': { type: 'string', default: '7.2b' },
    'gen-tokens': { type: 'string', default: '256' },
    'budget-s': { type: 'string', default: '150' },
    'total-s': { type: 'string', default: '450' },
  },
});

function required(name: 'out' | 'bench' | 'redis' | 'vocab'): string {
  const value = opts[name];
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

const out = path.resolve(required('out'));
const work = path.resolve(opts.work ?? path.join(out, 'work'));
const benchBin = required('bench');
const redisUrl = required('redis');
const vocab = required('vocab');
const device = opts.device!;
const small = opts.small!;
const steps = new Set(opts.steps!.split(','));
const budgetMs = Number(opts['budget-s']) * 1000;
const endOfRun = Date.now() + Number(opts['total-s']) * 1000;
const int = (name: keyof typeof opts) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
};
// Small: one layer and a byte vocabulary (256 ids), so the kit's whole path runs in seconds on a CPU.
const modelVocab = vocab === 'bytes' ? 256 : 65536;
const weights = device === 'cuda' ? 'bf16' : 'f32';
const log = (line: string) => process.stderr.write(`[measure] ${line}\n`);

interface StepRecord {
  step: string;
  shape?: string;
  ok: boolean;
  error?: string;
  seconds: number;
  figures: Record<string, number | string | null>;
}
const records: StepRecord[] = [];

/** Runs one step within the budget; its failure is recorded and does not stop the others. */
async function step(
  name: string,
  shape: string | undefined,
  body: (deadline: number) => Promise<Record<string, number | string | null>>,
): Promise<void> {
  const started = Date.now();
  log(`${name}${shape ? ` ${shape}` : ''}: start`);
  try {
    const figures = await body(Math.min(started + budgetMs, endOfRun));
    records.push({
      step: name,
      ...(shape ? { shape } : {}),
      ok: true,
      seconds: (Date.now() - started) / 1000,
      figures,
    });
  } catch (err) {
    const message = (err as Error).message.split('\n').slice(0, 6).join(' | ');
    log(`${name}: failed: ${message}`);
    records.push({
      step: name,
      ...(shape ? { shape } : {}),
      ok: false,
      error: message,
      seconds: (Date.now() - started) / 1000,
      figures: {},
    });
  }
}

function remainingMs(deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new Error('out of its time budget');
  return left;
}

async function node(args: string[], deadline: number): Promise<string> {
  const { stdout } = await exec(process.execPath, args, { timeout: remainingMs(deadline), maxBuffer: 64 << 20 });
  return stdout;
}

async function model(shape: string, deadline: number): Promise<string> {
  const file = path.join(work, 'models', `${shape}${small ? '-small' : ''}.safetensors`);
  mkdirSync(path.dirname(file), { recursive: true });
  await node(
    [
      cli,
      'random-model',
      '--out',
      file,
      '--shape',
      shape,
      '--vocab',
      String(modelVocab),
      ...(small ? ['--layers', '1'] : []),
    ],
    deadline,
  );
  return file;
}

/** The last line of rwkv_bench's output: its JSON summary. */
async function bench(args: string[], deadline: number): Promise<Record<string, unknown>> {
  const { stdout } = await exec(benchBin, args, { timeout: remainingMs(deadline), maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** The engine alone on the shape: long-stream prefill, 64-stream prefill and batch-1 decode, in tokens/s. */
async function engineAlone(
  shape: string,
  deadline: number,
  only: 'prefill' | 'decode1',
): Promise<{ prefill: number | null; prefill64: number | null; decode1: number | null; device: string }> {
  if (device === 'cuda') {
    const json = await bench(
      ['cuda', '--sizes', shape, '--weights', weights, '--only', only, ...(small ? ['--quick'] : [])],
      deadline,
    );
    if (json.skipped) throw new Error(`rwkv_bench cuda skipped: ${String(json.skipped)}`);
    const rows = json.results as { what: string; tokens_per_s: number }[];
    const find = (re: RegExp) => rows.find((r) => re.test(r.what))?.tokens_per_s ?? null;
    return {
      prefill: find(/prefill 1 stream/),
      prefill64: find(/prefill 64 streams/),
      decode1: find(/decode batch 1 \(/),
      device: String(json.device),
    };
  }
  const layers = small ? 1 : shape === '0.1b' ? 12 : 24;
  const json = await bench(
    [
      'engine',
      '--layers',
      String(layers),
      '--vocab',
      String(modelVocab),
      '--chunk',
      '1024',
      '--decode',
      '16',
      '--weights',
      weights,
      '--device',
      'cpu',
    ],
    deadline,
  );
  const sfx = weights === 'f32' ? '' : `_${weights}`;
  return {
    prefill: json[`prefill_tok_s${sfx}`] as number,
    prefill64: null,
    decode1: json[`decode_tok_s${sfx}`] as number,
    device: String(json.cpu_model),
  };
}

const engineFlags = (modelFile: string) => [
  '--model',
  modelFile,
  '--vocab',
  vocab,
  '--device',
  device,
  '--weights',
  weights,
];
const ratio = (a: number | null, b: number | null) => (a !== null && b ? Number((a / b).toFixed(3)) : null);

let tokenizer: Tokenizer | null = null;
async function documentOf(tokens: number, name: string, seed: number): Promise<{ file: string; tokens: number }> {
  tokenizer ??= await Tokenizer.load(vocab);
  const file = path.join(work, 'docs', `${name}.txt`);
  mkdirSync(path.dirname(file), { recursive: true });
  const written = await writeDocument(file, tokenizer, tokens, seed);
  return { file, tokens: written.tokens };
}

/** 1. Embedded summarize of one long document vs the engine's single-stream prefill. */
async function embeddedSummarize(shape: string, deadline: number) {
  const modelFile = await model(shape, deadline);
  const doc = await documentOf(small ? 2048 : int('doc-tokens'), `summarize-${shape}`, 7);
  const alone = await engineAlone(shape, deadline, 'prefill');
  const genTokens = small ? 4 : 64;
  const run = async (file: string) => {
    const dir = path.join(work, 'ckpt', `${shape}-${Date.now()}`);
    const t0 = performance.now();
    const stdout = await node(
      [
        cli,
        'summarize',
        file,
        ...engineFlags(modelFile),
        '--json',
        '--max-tokens',
        String(genTokens),
        '--checkpoint-dir',
        dir,
      ],
      deadline,
    );
    const seconds = (performance.now() - t0) / 1000;
    rmSync(dir, { recursive: true, force: true });
    const result = JSON.parse(stdout) as { tokens: number; summary: { generatedTokens: number } };
    return { seconds, tokens: result.tokens, generated: result.summary.generatedTokens };
  };
  // The fixed cost (start-up, model load, template, generation) from a one-line document, taken off the long run.
  const shortDoc = path.join(work, 'docs', 'short.txt');
  writeFileSync(shortDoc, 'A short note on the harbour schedule.\n');
  const fixed = await run(shortDoc);
  const long = await run(doc.file);
  const readSeconds = Math.max(1e-9, long.seconds - fixed.seconds);
  const endToEnd = long.tokens / long.seconds;
  const reading = long.tokens / readSeconds;
  return {
    device: alone.device,
    tokens: long.tokens,
    wall_s: Number(long.seconds.toFixed(2)),
    fixed_s: Number(fixed.seconds.toFixed(2)),
    end_to_end_tok_s: Math.round(endToEnd),
    reading_tok_s: Math.round(reading),
    engine_prefill_tok_s: alone.prefill === null ? null : Math.round(alone.prefill),
    ratio: ratio(reading, alone.prefill),
    ratio_with_start_up: ratio(endToEnd, alone.prefill),
  };
}

/** 2. The worker with Redis on this machine: many documents submitted at once through the inbox queue. */
async function workerRun(shape: string, deadline: number) {
  const modelFile = await model(shape, deadline);
  const docs = small ? 4 : int('worker-docs');
  const docTokens = small ? 1024 : int('worker-tokens');
  const alone = await engineAlone(shape, deadline, 'prefill');
  const prefix = `gpu-bench-${shape.replace('.', '')}-${Date.now().toString(36)}`;
  const streams = Math.min(64, docs);
  // run.sh's Redis lives for this measurement only (no AOF, no snapshots): nothing in it outlives the run.
  const worker = await startWorker(cli, [
    '--allow-volatile-redis',
    ...engineFlags(modelFile),
    '--redis',
    redisUrl,
    '--prefix',
    prefix,
    '--metrics-port',
    'off',
    '--log-level',
    'info',
    '--batch-streams',
    String(streams),
    '--chunk-tokens',
    small ? '256' : '4096',
    '--attempts',
    '1',
  ]);
  const redis = new Redis(redisUrl);
  const keys = new Keys(prefix);
  try {
    const files = await Promise.all(
      Array.from({ length: docs }, (_, i) => documentOf(docTokens, `worker-${docTokens}-${i}`, 100 + i)),
    );
    const inbox = new InboxPublisher(redis, prefix);
    const t0 = performance.now();
    for (const [i, f] of files.entries()) {
      const task = SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: small ? 2 : 16 });
      await submitFile(inbox, { id: `doc-${i}`, task, maxMessageBytes: 1 << 20, partBytes: 256 << 10 }, f.file);
    }
    await inbox.close();
    let done = new Set<string>();
    while (done.size < docs) {
      remainingMs(deadline);
      const entries = await redis.xrange(keys.resultStream(), '-', '+');
      done = new Set(entries.map(([, fields]) => fields[1]!));
      const failed = await redis.xlen(keys.deadLetterStream());
      if (failed > 0)
        throw new Error(
          `${failed} dead letters: ${JSON.stringify(await redis.xrange(keys.deadLetterStream(), '-', '+', 'COUNT', 1))}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    const tokens = files.reduce((s, f) => s + f.tokens, 0);
    // Chunk latency: the time between a document's successive checkpoint commits (its audit trail).
    const states = new RedisStateStore(redis, keys);
    const gaps: number[] = [];
    for (let i = 0; i < docs; i++) {
      const audit = await states.audit({ kind: 'document', id: `doc-${i}` });
      for (let k = 1; k < audit.length; k++) gaps.push(audit[k]!.at - audit[k - 1]!.at);
    }
    const gpuMemory = await gpuMemoryUsed();
    const tokS = tokens / seconds;
    return {
      device: alone.device,
      documents: docs,
      tokens,
      wall_s: Number(seconds.toFixed(2)),
      documents_per_hour: Math.round((docs / seconds) * 3600),
      tok_s: Math.round(tokS),
      engine_prefill64_tok_s: alone.prefill64 === null ? null : Math.round(alone.prefill64),
      engine_prefill_tok_s: alone.prefill === null ? null : Math.round(alone.prefill),
      ratio: ratio(tokS, alone.prefill64 ?? alone.prefill),
      chunk_p50_ms: gaps.length ? Math.round(quantile(gaps, 0.5)) : null,
      chunk_p99_ms: gaps.length ? Math.round(quantile(gaps, 0.99)) : null,
      gpu_memory_used_mib: gpuMemory,
    };
  } finally {
    redis.disconnect();
    await worker.stop();
  }
}

/** 3. Summary generation through the addon (the product's generation loop) vs the engine's batch-1 decode. */
async function generation(shape: string, deadline: number) {
  const modelFile = await model(shape, deadline);
  const alone = await engineAlone(shape, deadline, 'decode1');
  const engine = await Engine.load({ model: modelFile, vocab, device: device as 'cuda' | 'cpu', weights, threads: 0 });
  try {
    const want = small ? 8 : int('gen-tokens');
    // No stop sequence: a random model's text would end a summary at any "\n\n"; end-of-text may still stop it.
    const task = SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: want, stop: [] });
    const prompt = engine.tokenizer.encodeSync('The council met on Tuesday to discuss the harbour.');
    let generated = 0;
    let seconds = 0;
    for (let round = 0; generated < want && round < 16; round++) {
      remainingMs(deadline);
      const state = engine.model.newState();
      await engine.model.forward(prompt, state, 'none');
      const t0 = performance.now();
      const result = await summarize(engine, state, {
        ...task,
        maxTokens: want - generated,
        seed: round + 1,
        temperature: 1,
      });
      seconds += (performance.now() - t0) / 1000;
      generated += result.generatedTokens;
    }
    const tokS = generated / seconds;
    return {
      device: alone.device,
      generated,
      generation_tok_s: Number(tokS.toFixed(1)),
      engine_decode1_tok_s: alone.decode1 === null ? null : Number(alone.decode1.toFixed(1)),
      ratio: ratio(tokS, alone.decode1),
    };
  } finally {
    engine.dispose();
  }
}

async function gpuMemoryUsed(): Promise<number | null> {
  if (device !== 'cuda') return null;
  try {
    const { stdout } = await exec('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits']);
    return Number(stdout.trim().split('\n')[0]);
  } catch {
    return null;
  }
}

function markdown(): string {
  const lines = [
    `# rwkvstream on ${device}${small ? ' (small sizes: a layout check, not a measurement)' : ''}`,
    '',
    `date: ${new Date().toISOString()}`,
    '',
  ];
  lines.push('| step | shape | ok | figures | ratio |', '| --- | --- | --- | --- | --- |');
  for (const r of records) {
    const figures = r.ok
      ? Object.entries(r.figures)
          .filter(([k]) => k !== 'ratio')
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : `failed: ${r.error}`;
    lines.push(`| ${r.step} | ${r.shape ?? ''} | ${r.ok ? 'yes' : 'no'} | ${figures} | ${r.figures.ratio ?? ''} |`);
  }
  return `${lines.join('\n')}\n`;
}

mkdirSync(out, { recursive: true });
mkdirSync(work, { recursive: true });
const shapes = small ? ['0.1b'] : opts.shapes!.split(',');
for (const [i, shape] of shapes.entries()) {
  if (steps.has('summarize')) await step('summarize', shape, (d) => embeddedSummarize(shape, d));
  if (steps.has('worker')) await step('worker', shape, (d) => workerRun(shape, d));
  if (i === 0 && steps.has('generate')) {
    const genShape = small ? '0.1b' : opts['gen-shape']!;
    await step('generate', genShape, (d) => generation(genShape, d));
  }
}
const report = { device, small, weights, node: process.execPath, date: new Date().toISOString(), steps: records };
writeFileSync(path.join(out, 'gpu-results.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(path.join(out, 'gpu-results.md'), markdown());
process.stdout.write(markdown());
process.exit(records.every((r) => r.ok) ? 0 : 1);
