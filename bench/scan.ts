// `npm run bench:scan [-- --model FILE --seed N --rate R --alert-rate R --arrival-rate N --speed-lines N
//   --latency-lines N --reps N --big-lines N --no-big --threads N --json]`
//
// The log model's quality and speed at `scan`, through the same scoring the scan command uses (per-line mean
// nats per token given the lines before it; bench/scan/score.ts).
//
// Quality: the held-out real service logs (tools/train-log-model/samples/heldout/, never trained on) with
// anomalies inserted (bench/scan/anomalies.ts): each log is one stream scored from a fresh state, and over
// all lines together: the AUROC of surprise for telling inserted lines from normal ones, the precision of the
// top `--alert-rate` fraction of lines (the alerts at that rate), and the AUROC of each kind of anomaly.
//
// Speed, for the log model and for a random model of the official 0.1B shape (written by `rwkvstream
// random-model`; World vocabulary when ../shared/data has it, else bytes): lines/s and tokens/s of batch
// scoring, against the engine's own ceiling measured in the same run (the same tokens in one forward call
// without per-position logits; medians of --reps turns, taken alternately); and arrival-to-printed latency p50/p99: lines arrive at random times
// (`--arrival-rate` per second on average), a batch closes after 64 lines or 200 ms without a new line, is
// scored, and its lines are written out; a line's latency runs from its arrival to its write.
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

import { Engine } from '../engine/index.ts';
import { LOG_MODEL } from '../services/models/index.ts';
import {
  ANOMALY_KINDS,
  auroc,
  injectAnomalies,
  precisionAtRate,
  readHeldOutLogs,
  scoredItems,
  seededRandom,
  type ScoredItem,
} from './scan/anomalies.ts';
import { quantile } from './pipeline/stats.ts';
import { scoreLines } from './scan/score.ts';

const exec = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = process.env.RWKV_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: LOG_MODEL.path },
    seed: { type: 'string', default: '14' },
    rate: { type: 'string', default: '0.05' },
    'alert-rate': { type: 'string', default: '0.02' },
    'arrival-rate': { type: 'string', default: '5' },
    'batch-lines': { type: 'string', default: '64' },
    'batch-ms': { type: 'string', default: '200' },
    'speed-lines': { type: 'string', default: '512' },
    'latency-lines': { type: 'string', default: '200' },
    'big-lines': { type: 'string', default: '64' },
    'no-big': { type: 'boolean', default: false },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const num = (name: keyof typeof opts): number => Number(opts[name]);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Quality {
  lines: number;
  /** Normal lines plus inserted anomalies (a multi-line anomaly is one item, scored by its top line). */
  items: number;
  anomalies: number;
  auroc: number;
  alertRate: number;
  precisionAtAlertRate: number;
  byKind: Record<string, { count: number; auroc: number }>;
  byLog: Record<string, { lines: number; anomalies: number; auroc: number }>;
}

async function quality(engine: Engine): Promise<Quality> {
  const logs = injectAnomalies(readHeldOutLogs(), { seed: num('seed'), rate: num('rate') });
  const all: ScoredItem[] = [];
  const byLog: Quality['byLog'] = {};
  let lines = 0;
  for (const l of logs) {
    const items = scoredItems(
      l.lines,
      await scoreLines(
        engine,
        l.lines.map((x) => x.text),
        { batchLines: num('batch-lines') },
      ),
    );
    all.push(...items);
    lines += l.lines.length;
    const y = items.map((x) => x.anomaly !== undefined);
    byLog[l.name] = {
      lines: l.lines.length,
      anomalies: y.filter(Boolean).length,
      auroc: auroc(
        items.map((x) => x.score),
        y,
      ),
    };
  }
  const scores = all.map((x) => x.score);
  const kinds = all.map((x) => x.anomaly);
  const labels = kinds.map((k) => k !== undefined);
  const byKind: Quality['byKind'] = {};
  for (const kind of ANOMALY_KINDS) {
    const keep = kinds.map((k) => k === undefined || k === kind);
    const s = scores.filter((_, i) => keep[i]);
    const y = labels.filter((_, i) => keep[i]);
    byKind[kind] = { count: kinds.filter((k) => k === kind).length, auroc: auroc(s, y) };
  }
  const alertRate = num('alert-rate');
  return {
    lines,
    items: scores.length,
    anomalies: labels.filter(Boolean).length,
    auroc: auroc(scores, labels),
    alertRate,
    precisionAtAlertRate: precisionAtRate(scores, labels, alertRate),
    byKind,
    byLog,
  };
}

interface Speed {
  model: string;
  lines: number;
  tokens: number;
  linesPerSec: number;
  tokensPerSec: number;
  ceilingTokensPerSec: number;
  latency: { arrivalRate: number; lines: number; p50Ms: number; p99Ms: number };
}

/** The held-out lines (anomalies included) in order, cycled up to `n`. */
function benchLines(n: number): string[] {
  const all = injectAnomalies(readHeldOutLogs(), { seed: num('seed'), rate: num('rate') }).flatMap((l) =>
    l.lines.map((x) => x.text),
  );
  return Array.from({ length: n }, (_, i) => all[i % all.length]!);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Lines arrive at exponential gaps (mean 1/rate); a batch closes when it holds `batchLines` lines or no new
 * line came for `batchMs`; each scored line is written to /dev/null. Returns each line's arrival-to-written ms.
 */
async function latencies(engine: Engine, lines: string[], rate: number): Promise<number[]> {
  const rand = seededRandom(num('seed'));
  const arrivals: number[] = [];
  let t = 0;
  for (let i = 0; i < lines.length; i++) {
    t += -Math.log(1 - rand()) * (1000 / rate);
    arrivals.push(t);
  }
  const batchLines = num('batch-lines');
  const batchMs = num('batch-ms');
  const separator = engine.tokenizer.encodeSync('\n');
  const state = engine.model.newState();
  const { scoreEvents } = await import('../pipelines/tasks/anomaly.ts');
  const sink = openSync(os.devNull, 'w');
  const out: number[] = [];
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let next = 0; // first line not yet scored
  try {
    while (next < lines.length) {
      // Wait for the batch to close: full, idle for batchMs, or the input has ended.
      for (;;) {
        const arrived = arrivals.findIndex((a) => a > now());
        const have = (arrived < 0 ? lines.length : arrived) - next;
        if (have >= batchLines || (have > 0 && arrived < 0)) break;
        if (have > 0 && now() - arrivals[next + have - 1]! >= batchMs) break;
        const wake = Math.min(
          arrived < 0 ? Infinity : arrivals[arrived]!,
          have > 0 ? arrivals[next + have - 1]! + batchMs : Infinity,
        );
        await sleep(wake - now());
      }
      const arrived = arrivals.findIndex((a) => a > now());
      const end = Math.min(next + batchLines, arrived < 0 ? lines.length : arrived);
      const ids = await Promise.all(lines.slice(next, end).map((l) => engine.tokenizer.encode(l)));
      const scored = await scoreEvents(engine, state, ids, separator, 256);
      scored.forEach((s, i) => {
        writeSync(sink, `${s.surprise.toFixed(3)} ${lines[next + i]}\n`);
        out.push(now() - arrivals[next + i]!);
      });
      next = end;
    }
  } finally {
    closeSync(sink);
  }
  return out;
}

async function speed(label: string, engine: Engine, n: number, latencyLines: number, reps: number): Promise<Speed> {
  const lines = benchLines(n);
  const tokens = lines.reduce((sum, l) => sum + 1 + engine.tokenizer.encodeSync(l).length, 0);
  // Ceiling: the same number of tokens read in one call, no per-position logits. Ceiling and scan take turns,
  // `reps` times each, and the medians are compared, so both see the same machine.
  const text = engine.tokenizer.encodeSync(lines.join('\n'));
  const flat = new Int32Array(tokens).map((_, i) => text[i % text.length]!);
  const ceilingTimes: number[] = [];
  const scanTimes: number[] = [];
  for (let r = 0; r < reps; r++) {
    let started = performance.now();
    await engine.model.forward(flat, engine.model.newState(), 'last');
    ceilingTimes.push((performance.now() - started) / 1000);
    started = performance.now();
    await scoreLines(engine, lines, { batchLines: num('batch-lines') });
    scanTimes.push((performance.now() - started) / 1000);
  }
  const ceilingSec = quantile(ceilingTimes, 0.5);
  const sec = quantile(scanTimes, 0.5);
  const linesPerSec = lines.length / sec;
  // Lines should not arrive faster than the model can score them, or the queue (and latency) only grows.
  const arrivalRate = Math.min(num('arrival-rate'), linesPerSec / 2);
  const lat = await latencies(engine, benchLines(latencyLines), arrivalRate);
  const result: Speed = {
    model: label,
    lines: lines.length,
    tokens,
    linesPerSec,
    tokensPerSec: tokens / sec,
    ceilingTokensPerSec: tokens / ceilingSec,
    latency: { arrivalRate, lines: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99) },
  };
  log(
    `${label}: ${linesPerSec.toFixed(1)} lines/s, ${(tokens / sec).toFixed(0)} tokens/s ` +
      `(${((tokens / sec / (tokens / ceilingSec)) * 100).toFixed(0)}% of the ${(tokens / ceilingSec).toFixed(0)} tokens/s ceiling); ` +
      `latency at ${arrivalRate.toFixed(2)} lines/s: p50 ${result.latency.p50Ms.toFixed(0)} ms, p99 ${result.latency.p99Ms.toFixed(0)} ms`,
  );
  return result;
}

async function main(): Promise<void> {
  const threads = num('threads');
  log(`model ${opts.model}`);
  const engine = await Engine.load({ model: opts.model, vocab: 'bytes', threads, device: 'cpu' });
  const q = await quality(engine);
  log(
    `quality: ${q.lines} lines, ${q.anomalies} inserted anomalies among ${q.items} items: AUROC ${q.auroc.toFixed(4)}, ` +
      `precision at alert rate ${q.alertRate}: ${q.precisionAtAlertRate.toFixed(3)}`,
  );
  for (const [kind, k] of Object.entries(q.byKind))
    log(`  ${kind.padEnd(17)} ${String(k.count).padStart(4)} inserted  AUROC ${k.auroc.toFixed(4)}`);
  for (const [name, k] of Object.entries(q.byLog)) {
    log(
      `  ${name.padEnd(17)} ${String(k.lines).padStart(4)} lines ${String(k.anomalies).padStart(3)} anomalies  AUROC ${Number.isNaN(k.auroc) ? '-' : k.auroc.toFixed(4)}`,
    );
  }
  const speeds = [await speed('log model', engine, num('speed-lines'), num('latency-lines'), num('reps'))];
  engine.dispose();

  if (!opts['no-big']) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rwkvstream-bench-scan-'));
    try {
      const vocabFile = path.join(sharedDir, 'data', 'rwkv_vocab_v20230424.txt');
      const world = existsSync(vocabFile);
      const file = path.join(dir, 'random-0.1b.safetensors');
      log(`writing a random model of the 0.1B shape (${world ? 'World vocabulary' : 'bytes'})`);
      await exec(process.execPath, [
        path.join(repoRoot, 'bin', 'rwkvstream.mjs'),
        'random-model',
        '--out',
        file,
        '--shape',
        '0.1b',
        '--vocab',
        world ? '65536' : '256',
      ]);
      const big = await Engine.load({ model: file, vocab: world ? vocabFile : 'bytes', threads, device: 'cpu' });
      speeds.push(
        await speed('0.1B shape (random)', big, num('big-lines'), Math.min(num('big-lines'), num('latency-lines')), 1),
      );
      big.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const report = { cpus: os.cpus().length, loadavg: os.loadavg()[0], quality: q, speed: speeds };
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    process.stdout.write(
      `AUROC ${q.auroc.toFixed(4)}  precision@${q.alertRate} ${q.precisionAtAlertRate.toFixed(3)}  ` +
        `(${q.lines} lines, ${q.anomalies} anomalies)\n`,
    );
    for (const s of speeds) {
      process.stdout.write(
        `${s.model}: ${s.linesPerSec.toFixed(1)} lines/s, ${s.tokensPerSec.toFixed(0)} tokens/s ` +
          `(ceiling ${s.ceilingTokensPerSec.toFixed(0)}), latency p50 ${s.latency.p50Ms.toFixed(0)} ms p99 ${s.latency.p99Ms.toFixed(0)} ms ` +
          `at ${s.latency.arrivalRate.toFixed(2)} lines/s\n`,
      );
    }
  }
}

await main();
