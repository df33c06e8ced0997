// `npm run bench:pipeline [-- --tokens N --model FILE --chunk-tokens N --threads N --json]`
//
// Sends one document of at least --tokens tokens (default 1,000,000) through the whole path — `rwkvstream
// submit` to Kafka, a worker process that ingests, plans and runs the chunk chain with Redis checkpoints, the
// result — and compares, in one run, its end-to-end throughput with the engine alone on the same tokens and
// model. Also reports checkpoint size and latency per chunk and the peak memory of each process (with the
// worker's resident memory along the document, which stays flat). Default model: a random model of the
// official 0.1B shape, written once to .rwkvstream/bench/ with `rwkvstream random-model`.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';

import { Tokenizer } from '../engine/index.ts';
import { Keys } from '../services/adapters/redis/keys.ts';
import { writeDocument } from './pipeline/document.ts';
import { memoryOf, runSampled, startWorker } from './pipeline/processes.ts';
import { mean, mib, ms, quantile } from './pipeline/stats.ts';

const exec = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repoRoot, 'bin', 'rwkvstream.mjs');
const sharedDir = process.env.RWKV_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

const { values: opts } = parseArgs({
  options: {
    tokens: { type: 'string', default: '1000000' },
    model: { type: 'string' },
    shape: { type: 'string', default: '0.1b' },
    vocab: { type: 'string' },
    'chunk-tokens': { type: 'string', default: '4096' },
    threads: { type: 'string', default: '0' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    kafka: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function ensureModel(): Promise<string> {
  if (opts.model) return path.resolve(opts.model);
  const file = path.join(repoRoot, '.rwkvstream', 'bench', `random-${opts.shape}.safetensors`);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    log(`writing a random ${opts.shape} model to ${file}`);
    await exec(process.execPath, [cli, 'random-model', '--out', file, '--shape', opts.shape!]);
  }
  return file;
}

async function kafkaBrokers(): Promise<string> {
  if (opts.kafka) return opts.kafka;
  const { stdout } = await exec(path.join(repoRoot, 'infra', 'kafka', 'start.sh'));
  return stdout.trim().split('\n').at(-1)!;
}

interface ChunkLine {
  forwardMs: number;
  commitMs: number;
  loadMs: number;
  bytes: number;
  cached: boolean;
}

async function main(): Promise<void> {
  const tokensWanted = Number(opts.tokens);
  const chunkTokens = Number(opts['chunk-tokens']);
  const model = await ensureModel();
  const info = JSON.parse((await exec(process.execPath, [cli, 'inspect', model])).stdout) as {
    n_layer: number;
    n_embd: number;
    vocab_size: number;
    dtype: string;
  };
  const vocab =
    opts.vocab ?? (info.vocab_size === 256 ? undefined : path.join(sharedDir, 'data', 'rwkv_vocab_v20230424.txt'));
  const engineArgs = [...(vocab ? ['--vocab', vocab] : []), '--threads', opts.threads!];

  const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-bench-'));
  const file = path.join(dir, 'document.txt');
  const tokenizer = await Tokenizer.load(vocab ?? 'bytes');
  log(`writing a document of at least ${tokensWanted} tokens`);
  await writeDocument(file, tokenizer, tokensWanted);
  const bytes = statSync(file).size;

  log('engine alone ...');
  const alone = JSON.parse(
    (
      await runSampled([
        '--import',
        'tsx',
        path.join(repoRoot, 'bench', 'pipeline', 'engine-alone.ts'),
        '--model',
        model,
        ...(vocab ? ['--vocab', vocab] : []),
        '--file',
        file,
        '--chunk-tokens',
        String(chunkTokens),
        '--threads',
        opts.threads!,
      ])
    ).stdout,
  ) as { tokens: number; seconds: number; tokensPerSecond: number; peakRssBytes: number };
  log(`engine alone: ${alone.tokensPerSecond.toFixed(1)} tokens/s`);

  const brokers = await kafkaBrokers();
  const prefix = `bench-${Date.now().toString(36)}`;
  const keys = new Keys(prefix);
  const redis = new Redis(opts.redis!);
  const docId = 'bench-doc';
  const worker = await startWorker(cli, [
    '--model',
    model,
    ...engineArgs,
    '--redis',
    opts.redis!,
    '--kafka',
    brokers,
    '--prefix',
    prefix,
    '--topic-prefix',
    prefix,
    '--group-id',
    prefix,
    '--partitions',
    '1',
    '--metrics-port',
    '0',
    '--chunk-tokens',
    String(chunkTokens),
    '--log-level',
    'debug',
    '--name',
    'bench-worker',
    // A benchmark's Redis is throw-away; it may run without persistence.
    '--allow-volatile-redis',
  ]);
  const samples: { at: number; tokens: number; rss: number }[] = [];
  const sampler = setInterval(() => {
    const mem = memoryOf(worker.child.pid!);
    void redis.hget(keys.checkpoint({ kind: 'document', id: docId }), 'tokens').then((t) => {
      if (mem) samples.push({ at: Date.now(), tokens: Number(t ?? 0), rss: mem.rssBytes });
    });
  }, 500);
  let lastReport = Date.now();

  log('pipeline ...');
  const started = Date.now();
  const submit = await runSampled([
    cli,
    'submit',
    '--kafka',
    brokers,
    '--topic-prefix',
    prefix,
    '--task',
    'summarize',
    '--max-tokens',
    '32',
    '--file',
    file,
    '--id',
    docId,
  ]);
  let result: string | null = null;
  while (result === null) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    result = await redis.hget(keys.result('document', docId), 'json');
    if (Date.now() - lastReport > 15_000 && samples.length > 0) {
      lastReport = Date.now();
      const s = samples.at(-1)!;
      log(
        `${s.tokens}/${alone.tokens} tokens, ${(s.tokens / ((s.at - started) / 1000)).toFixed(1)} tokens/s, worker RSS ${mib(s.rss)}`,
      );
    }
  }
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  const workerPeak = memoryOf(worker.child.pid!)?.peakBytes ?? NaN;
  const parsed = JSON.parse(result) as { tokens?: number; code?: string };
  if (parsed.code) throw new Error(`the document failed: ${result}`);
  const trail = (await redis.lrange(keys.audit({ kind: 'document', id: docId }), 0, -1)).map(
    (e) => JSON.parse(e) as { at: number },
  );
  const redisPeak = Number(/used_memory_peak:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
  await worker.stop();

  const chunks = worker.logs.filter((l) => l.msg === 'chunk committed') as unknown as ChunkLine[];
  const planned = worker.logs.find((l) => l.msg === 'document tokenized') as { ms?: number; time?: number } | undefined;
  // Wall time between consecutive commits covers chunks 1.. (chunk 0 has no commit before it).
  const walls = trail.slice(1).map((e, i) => e.at - trail[i]!.at);
  const forwards = chunks.slice(1).map((c) => c.forwardMs);
  const commits = chunks.map((c) => c.commitMs);
  const tokens = parsed.tokens ?? alone.tokens;
  const e2e = tokens / seconds;
  const rssAt = (fraction: number) => samples.find((s) => s.tokens >= fraction * tokens)?.rss ?? NaN;

  const report = {
    model: { file: model, layers: info.n_layer, embd: info.n_embd, vocab: info.vocab_size, dtype: info.dtype },
    threads: Number(opts.threads),
    chunkTokens,
    document: { bytes, tokens, chunks: chunks.length },
    engineAlone: { seconds: alone.seconds, tokensPerSecond: alone.tokensPerSecond },
    endToEnd: {
      seconds,
      tokensPerSecond: e2e,
      ratio: e2e / alone.tokensPerSecond,
      // The model's share of the pipeline's own wall time: the same question as the ratio, but measured within
      // one run, so it does not move when the machine gets faster or slower between the two passes.
      engineShare: chunks.reduce((a, c) => a + c.forwardMs, 0) / (seconds * 1000),
      planningMs: planned?.ms ?? null,
      firstCommitAfterS: trail[0] ? (trail[0].at - started) / 1000 : null,
    },
    perChunk: {
      forwardMsMean: mean(forwards),
      wallMsMean: mean(walls),
      overheadMsMean: mean(walls) - mean(forwards),
    },
    checkpoint: {
      bytes: chunks[0]?.bytes ?? null,
      commitMs: {
        mean: mean(commits),
        p50: quantile(commits, 0.5),
        p95: quantile(commits, 0.95),
        max: Math.max(...commits),
      },
      loadsFromRedis: chunks.filter((c) => !c.cached).length,
      loadsFromMemory: chunks.filter((c) => c.cached).length,
    },
    peakMemory: {
      workerBytes: workerPeak,
      workerRssAt: { '10%': rssAt(0.1), '25%': rssAt(0.25), '50%': rssAt(0.5), '75%': rssAt(0.75), '95%': rssAt(0.95) },
      submitBytes: submit.peakBytes,
      engineAloneBytes: alone.peakRssBytes,
      redisUsedPeakBytes: redisPeak,
    },
  };

  // Clean up what this run created.
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
  await redis.quit();
  const admin = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: ['documents', 'events', 'results', 'dead-letter'].map((t) => `${prefix}.${t}`) })
    .catch(() => {});
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const r = report;
  const lines = [
    `model          ${path.basename(model)}: L${r.model.layers} C${r.model.embd} V${r.model.vocab} (${r.model.dtype}), threads ${r.threads || 'all'}`,
    `document       ${r.document.tokens} tokens (${mib(r.document.bytes)}), ${r.document.chunks} chunks of ${chunkTokens}`,
    `engine alone   ${r.engineAlone.seconds.toFixed(1)} s, ${r.engineAlone.tokensPerSecond.toFixed(1)} tokens/s`,
    `end to end     ${r.endToEnd.seconds.toFixed(1)} s, ${r.endToEnd.tokensPerSecond.toFixed(1)} tokens/s`,
    `ratio          ${r.endToEnd.ratio.toFixed(3)} (goal >= 0.9 at 4096-token chunks, 0.1B shape); ` +
      `engine share of the pipeline's wall time ${r.endToEnd.engineShare.toFixed(3)}`,
    `  planning     ${r.endToEnd.planningMs} ms tokenizing; first commit ${r.endToEnd.firstCommitAfterS?.toFixed(1)} s after submit`,
    `per chunk      forward ${ms(r.perChunk.forwardMsMean)}, wall between commits ${ms(r.perChunk.wallMsMean)}, overhead ${ms(r.perChunk.overheadMsMean)}`,
    `checkpoint     ${mib(r.checkpoint.bytes ?? NaN)} per commit; commit ${ms(r.checkpoint.commitMs.mean)} mean, ${ms(r.checkpoint.commitMs.p50)} p50, ` +
      `${ms(r.checkpoint.commitMs.p95)} p95, ${ms(r.checkpoint.commitMs.max)} max; loads ${r.checkpoint.loadsFromMemory} from memory, ${r.checkpoint.loadsFromRedis} from Redis`,
    `peak memory    worker ${mib(r.peakMemory.workerBytes)} (RSS at 10/25/50/75/95%: ${Object.values(r.peakMemory.workerRssAt).map(mib).join(' / ')})`,
    `               submit ${mib(r.peakMemory.submitBytes)}, engine alone ${mib(r.peakMemory.engineAloneBytes)}, Redis used peak ${mib(r.peakMemory.redisUsedPeakBytes)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
