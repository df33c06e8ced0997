// Fuzzing the two readers of untrusted bytes. (a) The ingest step's message handling (size, UTF-8, JSON, schema,
// key, part assembly) on thousands of random and mutated document and event records: each is accepted (and its
// parsed message, encoded again, parses to the same message) or refused with a code; nothing else may be thrown;
// time per record and heap growth are measured. (b) The model-file reader through the addon: mutated copies of
// the fixture models opened in child processes, each opened or refused with a coded error, with no crash, no
// hang and bounded memory. (c) When they are built (cmake -DRWKV_BUILD_FUZZ=ON -B native/build-fuzz, as .ci/run
// does), the native fuzz targets: each reader (pickle, zip, safetensors, ggml, state blob) under AddressSanitizer
// and UndefinedBehaviorSanitizer with structure-aware mutations. Seeded, so a failure can be replayed.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { decodeRecord, ingestDocumentRecord, ingestEventRecord } from '../../../pipelines/ingest.ts';
import type { RawRecord } from '../../../pipelines/ports.ts';
import { DOCUMENT_SCHEMA_V1, DocumentMessageSchema } from '../../../schemas/documents.ts';
import { EVENT_SCHEMA_V1, EventMessageSchema } from '../../../schemas/events.ts';
import { tinyModel } from '../../helpers/fixtures.ts';
import { cliEntry, fixture, repoRoot, sharedDir } from '../../helpers/paths.ts';
import { memoryIngest } from '../../pipeline/memory-ports.ts';
import type { FileEdits } from '../model-probe.ts';
import { runProbes } from '../probe-runner.ts';
import type { Row } from '../report.ts';
import type { Scenario, SuiteContext } from '../scenario.ts';

const exec = promisify(execFile);
const SEED = 20261123;
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** mulberry32: small, seeded, good enough to spread mutations. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

type Rand = ReturnType<typeof prng>;

const FIELD_NAMES = [
  'schema',
  'id',
  'task',
  'body',
  'kind',
  'text',
  'labels',
  'maxTokens',
  'index',
  'final',
  'encoding',
  'data',
  'url',
  'stream',
  'template',
  'temperature',
  'topK',
  'stop',
  '__proto__',
  'constructor',
];

function randomUnicode(rand: Rand, length: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0, 0x1f],
    [0xa0, 0x2fff],
    [0xd800, 0xdfff],
    [0xe000, 0xffff],
    [0x10000, 0x10ffff],
  ];
  let s = '';
  for (let i = 0; i < length; i++) {
    const [lo, hi] = ranges[rand(ranges.length)]!;
    s += String.fromCharCode(...(lo >= 0x10000 ? surrogatePair(lo + rand(hi - lo)) : [lo + rand(hi - lo + 1)]));
  }
  return s;
}

function surrogatePair(cp: number): number[] {
  const v = cp - 0x10000;
  return [0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff)];
}

/** A JSON value built from the schemas' own field names and plausible values: near misses of valid messages. */
function randomValue(rand: Rand, depth: number): unknown {
  const pick = rand(depth > 3 ? 6 : 9);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand(2) === 0;
    case 2:
      return [0, -1, 1e308, 2 ** 53, 0.5, -0, 9_999_999, 10_000_000][rand(8)];
    case 3:
      return randomUnicode(rand, rand(12));
    case 4:
      return [
        DOCUMENT_SCHEMA_V1,
        EVENT_SCHEMA_V1,
        'summarize',
        'classify',
        'text',
        'part',
        'ref',
        'base64',
        'utf8',
        'file:///etc/passwd',
        'https://example.org/a',
        'doc-1',
      ][rand(12)];
    case 5:
      return '';
    case 6:
    case 7: {
      const obj: Record<string, unknown> = {};
      for (let i = rand(6); i > 0; i--) obj[FIELD_NAMES[rand(FIELD_NAMES.length)]!] = randomValue(rand, depth + 1);
      return obj;
    }
    default:
      return Array.from({ length: rand(5) }, () => randomValue(rand, depth + 1));
  }
}

function seeds(): { documents: Buffer[]; events: Buffer[] } {
  const documents = [
    {
      schema: DOCUMENT_SCHEMA_V1,
      id: 'doc-1',
      task: { kind: 'summarize', maxTokens: 20, stop: ['\n'] },
      body: { kind: 'text', text: 'The fox walks along the river.' },
    },
    {
      schema: DOCUMENT_SCHEMA_V1,
      id: 'doc-2',
      task: { kind: 'classify', labels: ['sports', 'finance', 'science'] },
      body: { kind: 'text', text: 'Stocks fell.' },
    },
    {
      schema: DOCUMENT_SCHEMA_V1,
      id: 'doc-3',
      body: { kind: 'part', index: 0, final: false, encoding: 'utf8', data: 'first part' },
    },
    {
      schema: DOCUMENT_SCHEMA_V1,
      id: 'doc-3',
      task: { kind: 'summarize' },
      body: {
        kind: 'part',
        index: 1,
        final: true,
        encoding: 'base64',
        data: Buffer.from('second part é').toString('base64'),
      },
    },
    {
      schema: DOCUMENT_SCHEMA_V1,
      id: 'doc-4',
      task: { kind: 'summarize', temperature: 0.7, seed: 3 },
      body: { kind: 'ref', url: 'https://example.org/a.txt' },
    },
  ];
  const events = [
    { schema: EVENT_SCHEMA_V1, stream: 'web/frontend', text: 'GET / 200' },
    { schema: EVENT_SCHEMA_V1, stream: 'db', text: 'slow query 1200 ms', id: 'e-1' },
  ];
  const bytes = (messages: object[]) => messages.map((m) => Buffer.from(JSON.stringify(m)));
  return { documents: bytes(documents), events: bytes(events) };
}

/** One fuzzed record value. */
function fuzzedValue(rand: Rand, corpus: Buffer[]): Buffer | null {
  const seed = corpus[rand(corpus.length)]!;
  const copy = Buffer.from(seed);
  switch (rand(14)) {
    case 0:
      for (let i = 1 + rand(8); i > 0; i--) copy[rand(copy.length)]! ^= 1 << rand(8);
      return copy;
    case 1:
      for (let i = 1 + rand(4); i > 0; i--) copy[rand(copy.length)] = rand(256);
      return copy;
    case 2:
      return copy.subarray(0, rand(copy.length));
    case 3: {
      const other = corpus[rand(corpus.length)]!;
      return Buffer.concat([copy.subarray(0, rand(copy.length)), other.subarray(rand(other.length))]);
    }
    case 4: {
      const at = rand(copy.length);
      return Buffer.concat([copy.subarray(0, at), Buffer.from(randomUnicode(rand, 1 + rand(8))), copy.subarray(at)]);
    }
    case 5: {
      const at = rand(copy.length);
      const len = rand(copy.length - at + 1);
      return Buffer.concat([copy.subarray(0, at + len), copy.subarray(at, at + len), copy.subarray(at + len)]);
    }
    case 6:
    case 7:
      return Buffer.from(JSON.stringify(randomValue(rand, 0)) ?? 'null');
    case 8: {
      // Deep nesting, up to the record size limit.
      const depth = [10, 1000, 100_000, 400_000][rand(4)]!;
      return rand(2) === 0
        ? Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)
        : Buffer.from(
            `{"schema":"${DOCUMENT_SCHEMA_V1}","id":"deep","task":${'{"kind":'.repeat(depth)}1${'}'.repeat(depth)},"body":{"kind":"text","text":"x"}}`,
          );
    }
    case 9: {
      // Huge: just under and just over the record limit, and a huge number of labels.
      const size = [MAX_MESSAGE_BYTES - 200, MAX_MESSAGE_BYTES + 10][rand(2)]!;
      if (rand(2) === 0)
        return Buffer.from(
          JSON.stringify({
            schema: DOCUMENT_SCHEMA_V1,
            id: 'huge',
            task: { kind: 'summarize' },
            body: { kind: 'text', text: 'x'.repeat(size - 120) },
          }),
        );
      return Buffer.from(
        JSON.stringify({
          schema: DOCUMENT_SCHEMA_V1,
          id: 'labels',
          task: { kind: 'classify', labels: Array.from({ length: 50_000 }, (_, i) => `l${i}`) },
          body: { kind: 'text', text: 'x' },
        }),
      );
    }
    case 10:
      return Buffer.from(randomUnicode(rand, rand(200)));
    case 11:
    case 12: {
      // Valid JSON of the right shape with one string replaced by random unicode (lone surrogates included).
      const message = JSON.parse(seed.toString()) as Record<string, unknown>;
      const body = message.body as Record<string, unknown> | undefined;
      const field = ['id', 'stream', 'text', 'body.text', 'body.data', 'body.url', 'task.labels'][rand(7)]!;
      const text = randomUnicode(rand, rand(40));
      if (field === 'task.labels' && message.task) (message.task as Record<string, unknown>).labels = [text, 'b'];
      else if (field.startsWith('body.') && body) body[field.slice(5)] = text;
      else message[field] = text;
      return Buffer.from(JSON.stringify(message));
    }
    default:
      return rand(8) === 0 ? null : Buffer.from(Array.from({ length: rand(300) }, () => rand(256)));
  }
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** (a): the ingest step's handling of document and event records. */
async function fuzzMessages(ctx: SuiteContext): Promise<Row> {
  const count = ctx.quick ? 1500 : 12_000;
  const rand = prng(SEED);
  const corpus = seeds();
  const gc = gcFunction();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  let accepted = 0;
  let refused = 0;
  const problems: string[] = [];
  const times: number[] = [];
  const codes = new Map<string, number>();
  let pipeline = memoryIngest({ maxMessageBytes: MAX_MESSAGE_BYTES });
  for (let n = 0; n < count; n++) {
    // A fresh store now and then: what accepted records store is not what is measured.
    if (n % 500 === 0) pipeline = memoryIngest({ maxMessageBytes: MAX_MESSAGE_BYTES });
    const events = rand(3) === 0;
    // Mostly the topic's own kind of message, sometimes the other kind.
    const value = fuzzedValue(
      rand,
      rand(10) === 0 ? [...corpus.documents, ...corpus.events] : events ? corpus.events : corpus.documents,
    );
    const key = rand(3) === 0 ? Buffer.from(['doc-1', 'doc-3', 'web/frontend', 'db', 'x'][rand(5)]!) : null;
    const record: RawRecord = {
      topic: events ? 'events' : 'documents',
      partition: 0,
      offset: String(n),
      key,
      value,
      timestamp: '0',
    };
    const letters = pipeline.sinks.deadLetters.length;
    const started = performance.now();
    try {
      await (events ? ingestEventRecord : ingestDocumentRecord)(record, pipeline.deps);
    } catch (err) {
      problems.push(`#${n} threw ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 120)}` : String(err)}`);
      continue;
    } finally {
      times.push(performance.now() - started);
    }
    const letter = pipeline.sinks.deadLetters[letters];
    if (letter) {
      if (/^E_[A-Z_]+$/.test(letter.code) && letter.reason.length > 10) {
        refused++;
        codes.set(letter.code, (codes.get(letter.code) ?? 0) + 1);
      } else {
        problems.push(`#${n} refused without a code or reason: ${letter.code} "${letter.reason}"`);
      }
      continue;
    }
    // Accepted: the parsed message, encoded again, must parse to the same message.
    const schema = events ? EventMessageSchema : DocumentMessageSchema;
    const parsed = decodeRecord(record, schema, MAX_MESSAGE_BYTES);
    // Defaults filled in make the encoding longer than the record: no size limit on the way back.
    const again = decodeRecord(
      { ...record, value: Buffer.from(JSON.stringify(parsed)) },
      schema,
      Number.MAX_SAFE_INTEGER,
    );
    if (isDeepStrictEqual(parsed, again)) accepted++;
    else problems.push(`#${n} accepted, but its message does not parse back to itself`);
  }
  pipeline = memoryIngest();
  gc();
  const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  times.sort((a, b) => a - b);
  const maxMs = times.at(-1) ?? 0;
  const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
  if (heapGrowthMiB > 64) problems.push(`heap grew by ${heapGrowthMiB.toFixed(1)} MiB`);
  if (maxMs > 5000) problems.push(`one record took ${maxMs.toFixed(0)} ms`);
  const top = [...codes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([c, k]) => `${c} ${k}`)
    .join(', ');
  return {
    category: 'fuzz',
    name: 'fuzzed document and event records through ingest',
    tries: count,
    identical: problems.length === 0 ? accepted : 0,
    refused: problems.length === 0 ? refused : 0,
    lost: problems.length === 0 ? count - accepted - refused : count,
    note:
      problems.length > 0
        ? `${problems.length} problems: ${problems.slice(0, 2).join('; ')}`
        : `seed ${SEED}; ${accepted} accepted (parse back identical), ${refused} refused (${top}); per record p99 ${p99.toFixed(2)} ms, max ${maxMs.toFixed(0)} ms; heap ${heapGrowthMiB >= 0 ? '+' : ''}${heapGrowthMiB.toFixed(1)} MiB`,
  };
}

/** (c): the sanitized native fuzz targets, each for a fixed time; none when they are not built. */
async function fuzzNativeReaders(ctx: SuiteContext): Promise<Row | undefined> {
  const dir = path.join(repoRoot, 'native', 'build-fuzz');
  const targets = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^fuzz_[a-z_]+$/.test(f))
        .sort()
    : [];
  if (targets.length === 0) {
    ctx.log('native fuzz targets not built (cmake -S native -B native/build-fuzz -DRWKV_BUILD_FUZZ=ON): skipped');
    return undefined;
  }
  const seconds = ctx.quick ? 5 : 20;
  let mutants = 0;
  let accepted = 0;
  const problems: string[] = [];
  const figures: string[] = [];
  for (const target of targets) {
    try {
      const { stdout } = await exec(path.join(dir, target), ['--seconds', String(seconds), '--seed', String(SEED)], {
        timeout: (seconds + 120) * 1000,
        cwd: ctx.tmp,
        env: { ...process.env, RWKV_SHARED_DIR: sharedDir },
      });
      const m = /(\w+): seed \d+, .*?, (\d+) mutants in \d+ s, (\d+) accepted, .*peak RSS (\d+) MiB/.exec(stdout);
      if (!m) {
        problems.push(`${target}: no summary line in ${stdout.slice(-200)}`);
        continue;
      }
      mutants += Number(m[2]);
      accepted += Number(m[3]);
      figures.push(`${m[1]} ${m[2]} (${m[4]} MiB)`);
    } catch (err) {
      const e = err as { stderr?: string; signal?: string; code?: number };
      problems.push(
        `${target} failed (${e.signal ?? e.code}): ${(e.stderr ?? '')
          .split('\n')
          .filter((l) => /ERROR|SUMMARY|uncoded|runtime error/.test(l))
          .slice(0, 2)
          .join(' | ')
          .slice(0, 240)}`,
      );
    }
  }
  return {
    category: 'fuzz',
    name: 'native readers under ASan/UBSan, structure-aware mutations',
    tries: problems.length > 0 ? Math.max(1, mutants) : mutants,
    identical: problems.length === 0 ? accepted : 0,
    refused: problems.length === 0 ? mutants - accepted : 0,
    lost: problems.length > 0 ? Math.max(1, mutants) : 0,
    note:
      problems.length > 0
        ? problems.slice(0, 2).join('; ')
        : `seed ${SEED}; ${seconds} s each; mutants (peak RSS with shadow memory): ${figures.join(', ')}; ${accepted} accepted, the rest refused with a code; no sanitizer report`,
  };
}

/** Mutations of a model file: flips in its header and index, random bytes anywhere, zeroed and moved ranges, cuts. */
function fileEdits(rand: Rand, size: number): FileEdits {
  // Containers keep their index at the start (safetensors, rwkv.cpp) or the end (zip-based .pth): aim there.
  const near = () =>
    rand(3) === 0 ? rand(size) : rand(2) === 0 ? rand(Math.min(size, 4096)) : size - 1 - rand(Math.min(size, 4096));
  switch (rand(5)) {
    case 0:
      return { set: Array.from({ length: 1 + rand(4) }, () => [near(), rand(256)] as [number, number]) };
    case 1:
      return { zero: [near(), 1 + rand(64)] };
    case 2:
      return { copy: [near(), 1 + rand(256), near()] };
    case 3:
      return { truncate: near() };
    default:
      return {
        set: Array.from({ length: 1 + rand(16) }, () => [near(), [0, 0xff, 0x7f, 0x80][rand(4)]!] as [number, number]),
      };
  }
}

/** (b): mutated model files opened through the addon in child processes. */
async function fuzzModelFiles(ctx: SuiteContext): Promise<Row> {
  const safetensors = path.join(ctx.tmp, 'random-l1.safetensors');
  await exec(
    process.execPath,
    [
      cliEntry,
      'random-model',
      '--out',
      safetensors,
      '--shape',
      '0.1b',
      '--layers',
      '1',
      '--vocab',
      '256',
      '--seed',
      '5',
    ],
    { timeout: 120_000 },
  );
  const bases = [
    tinyModel,
    fixture('rwkv7', 'tiny-rwkv7-834K-bf16.pth'),
    fixture('rwkv7', 'tiny-rwkv-7v0-834K-FP32.bin'),
    safetensors,
  ];
  const rand = prng(SEED + 1);
  const perBase = ctx.quick ? 8 : 60;
  const cases = bases.flatMap((base, b) => [
    // An unmutated copy first: what a successful open looks like for this base.
    { op: 'mutated', base, out: path.join(ctx.tmp, `mutated-${b}`), edits: {} },
    ...Array.from({ length: perBase }, () => ({
      op: 'mutated',
      base,
      out: path.join(ctx.tmp, `mutated-${b}`),
      edits: fileEdits(rand, statSync(base).size),
    })),
  ]);
  const started = performance.now();
  const outcomes = await runProbes(cases, { tmp: ctx.tmp, timeoutMs: 60_000 });
  const seconds = (performance.now() - started) / 1000;
  const problems: string[] = [];
  let opened = 0;
  let refused = 0;
  const codes = new Map<string, number>();
  for (const [i, o] of outcomes.entries()) {
    const baseIndex = Math.floor(i / (perBase + 1));
    const control = outcomes[baseIndex * (perBase + 1)]!;
    if (i % (perBase + 1) === 0) {
      if (o.status !== 'ok')
        problems.push(`the unmutated ${path.basename(bases[baseIndex]!)} did not open: ${o.status} ${o.message ?? ''}`);
      continue;
    }
    if (o.status === 'ok') {
      // A flip inside the weights leaves a loadable model of the same shape.
      if (o.detail === control.detail) opened++;
      else problems.push(`case ${i} opened as another model: ${o.detail} (original ${control.detail})`);
    } else if (o.status === 'refused' && /^E_[A-Z_]+$/.test(o.code ?? '')) {
      refused++;
      codes.set(o.code!, (codes.get(o.code!) ?? 0) + 1);
    } else {
      problems.push(
        `case ${i} (${path.basename(bases[baseIndex]!)} ${JSON.stringify((cases[i] as { edits: FileEdits }).edits).slice(0, 80)}): ${o.status} ${o.message?.slice(0, 120) ?? ''}`,
      );
    }
  }
  const maxRss = Math.max(...outcomes.map((o) => o.maxRssKiB ?? 0)) / 1024;
  if (maxRss > 2048) problems.push(`a probe reached ${maxRss.toFixed(0)} MiB resident`);
  const maxMs = Math.max(...outcomes.map((o) => o.ms ?? 0));
  const tries = bases.length * perBase;
  const top = [...codes]
    .sort((a, b) => b[1] - a[1])
    .map(([c, k]) => `${c} ${k}`)
    .join(', ');
  return {
    category: 'fuzz',
    name: 'mutated model files opened through the addon',
    tries,
    identical: problems.length === 0 ? opened : 0,
    refused: problems.length === 0 ? refused : 0,
    lost: problems.length === 0 ? tries - opened - refused : tries,
    note:
      problems.length > 0
        ? `${problems.length} problems: ${problems.slice(0, 2).join('; ')}`
        : `seed ${SEED + 1}; .pth fp32/bf16, rwkv.cpp .bin, .safetensors; ${opened} opened with the original shape, ${refused} refused (${top}); no crash or hang; open max ${maxMs} ms; probe peak RSS ${maxRss.toFixed(0)} MiB; ${seconds.toFixed(0)} s`,
  };
}

export const fuzz: Scenario = {
  name: 'fuzz',
  category: 'fuzz',
  quick: true,
  async run(ctx, report) {
    report(await fuzzMessages(ctx));
    report(await fuzzModelFiles(ctx));
    const native = await fuzzNativeReaders(ctx);
    if (native) report(native);
  },
};
