// Sections from the command line on the tiny byte-level model: each section printed as it is made with its token
// range (text, and JSON lines in the results schema), the same output after a kill and a resume, bad section
// flags refused by name, and `result --sections` reading a running document's sections from Redis.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { Redis } from 'ioredis';

import {
  ClassifyResultSchema,
  DocumentResultSchema,
  SectionResultSchema,
  SummarizeResultSchema,
  type SectionResult,
} from '../../schemas/results.ts';
import { ClassifyTaskSchema } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { prepareInput, runDocumentJob, spoolPath, type JobObserver } from '../../services/embedded/index.ts';
import { PipelineSettingsSchema } from '../../schemas/config.ts';
import { Keys } from '../../services/adapters/redis/keys.ts';
import type { RunningWorker } from '../../services/worker/runtime.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { quietLog } from '../pipeline/memory-ports.ts';
import {
  clearPrefix,
  createTopics,
  deleteTopics,
  kafkaBrokers,
  redisUrl,
  TopicCollector,
  topicsFor,
  uniqueName,
} from '../integration/helpers/services.ts';
import { startTestWorker } from '../integration/helpers/worker.ts';
import {
  cli,
  isolatedEnv,
  dyingOps,
  jobDirs,
  startCli,
  tempDir,
  waitForCheckpoint,
  type CliOptions,
} from './helpers.ts';

const home = tempDir('home');
const ENV = isolatedEnv(home);

/** Headings, paragraphs and sentences: every kind of natural break occurs near the section marks. */
function documentText(parts: number): string {
  const out: string[] = [];
  for (let h = 0; h < parts; h++) {
    out.push(`# Part ${h + 1}\n\n`);
    for (let p = 0; p < 3; p++) {
      out.push(
        `${Array.from({ length: 3 }, (_, s) => `The river rose after ${((h * 7 + p * 3 + s) % 9) + 1} days of rain, and the town watched it.`).join(' ')}\n\n`,
      );
    }
  }
  return out.join('');
}

const inputs = tempDir('inputs');
const DOC = path.join(inputs, 'book.txt');
const DOC_TEXT = documentText(8);
const TOKENS = Buffer.byteLength(DOC_TEXT);

before(() => writeFileSync(DOC, DOC_TEXT));

function run(args: string[], options: CliOptions = {}) {
  return cli(args, { ...options, env: { ...ENV, ...options.env } });
}

const model = ['--model', tinyModel];
const SUMMARIZE = ['summarize', DOC, ...model, '--chunk-tokens', '128', '--max-tokens', '8', '--sections', '512'];

/** JSON Lines: the section results, then the document's result. */
function jsonLines(stdout: string): { sections: SectionResult[]; final: unknown } {
  const lines = stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
  return { sections: lines.slice(0, -1).map((line) => SectionResultSchema.parse(line)), final: lines.at(-1) };
}

/** The sections cover the document in order, each ending within the slack of its mark at a break of its kind. */
function assertCoverage(sections: SectionResult[], every: number, slack: number): void {
  const count = Math.floor((TOKENS - 1) / every) + 1;
  assert.deepEqual(
    sections.map((s) => s.section),
    Array.from({ length: count }, (_, i) => i),
  );
  sections.forEach((s, i) => {
    assert.equal(s.sections, count);
    assert.equal(s.start, i === 0 ? 0 : sections[i - 1]!.end, `section ${i} starts where the one before ended`);
    if (i === count - 1) {
      assert.equal(s.end, TOKENS);
      assert.equal(s.boundary, 'end');
      return;
    }
    assert.ok(
      Math.abs(s.end - (i + 1) * every) <= slack,
      `section ${i} ends at ${s.end}, within ${slack} of ${(i + 1) * every}`,
    );
    const before = DOC_TEXT.slice(0, s.end);
    const at = `section ${i} ends at ${s.end} (${s.boundary}): ${JSON.stringify(DOC_TEXT.slice(s.end - 8, s.end + 8))}`;
    if (s.boundary === 'heading') assert.ok(before.endsWith('\n') && DOC_TEXT[s.end] === '#', at);
    else if (s.boundary === 'blank-line') assert.ok(before.endsWith('\n\n'), at);
    else if (s.boundary === 'line') assert.ok(before.endsWith('\n'), at);
    else if (s.boundary === 'sentence') assert.ok(/[.!?]$/.test(before) && /^\s/.test(DOC_TEXT.slice(s.end)), at);
    else assert.equal(s.end, (i + 1) * every, at);
  });
}

test('summarize --sections prints each section with its token range, in order, then the final result', async () => {
  const checkpoints = tempDir('ckpt');
  const json = await run([...SUMMARIZE, '--checkpoint-dir', checkpoints, '--json', '--quiet']);
  assert.equal(json.code, 0, json.stderr);
  const { sections, final } = jsonLines(json.stdout);
  assertCoverage(sections, 512, 64);
  assert.ok(
    sections.some((s) => s.boundary !== 'exact' && s.boundary !== 'end'),
    'natural breaks are found',
  );
  assert.ok(sections.every((s) => s.id === 'book.txt' && s.task === 'summarize' && s.template === '\n\nSummary:'));
  const result = SummarizeResultSchema.parse(final);
  assert.equal(result.tokens, TOKENS);
  assert.equal(result.stateSummary, undefined);
  assert.deepEqual(result.coverage && { ...result.coverage, reduce: undefined }, {
    every: 512,
    slack: 64,
    boundaries: 'natural',
    sections: sections.length,
    final: 'sections',
    template: '\n\nSummary:',
    maxTokens: 8,
    reduce: undefined,
  });

  const text = await run([...SUMMARIZE, '--checkpoint-dir', checkpoints, '--quiet']);
  assert.equal(text.code, 0, text.stderr);
  const names: Record<string, string> = {
    heading: 'heading',
    'blank-line': 'blank line',
    line: 'end of line',
    sentence: 'end of sentence',
    end: 'end of document',
  };
  const blocks = sections.map(
    (s) =>
      `§${s.section + 1}/${s.sections} tokens ${s.start}–${s.end} (${names[s.boundary]})\n${s.task === 'summarize' ? s.summary.text.trim() : ''}\n\n`,
  );
  assert.equal(text.stdout, `${blocks.join('')}${result.summary.text.trim()}\n`);
});

test("classify --sections --final both: a label per section, the aggregate and the final state's distribution", async () => {
  const args = [
    'classify',
    DOC,
    ...model,
    '--labels',
    'rivers,finance',
    '--chunk-tokens',
    '256',
    '--sections',
    '400',
    '--section-boundaries',
    'exact',
    '--final',
    'both',
    '--checkpoint-dir',
    tempDir('ckpt'),
  ];
  const json = await run([...args, '--json', '--quiet']);
  assert.equal(json.code, 0, json.stderr);
  const { sections, final } = jsonLines(json.stdout);
  assertCoverage(sections, 400, 0);
  assert.ok(sections.slice(0, -1).every((s) => s.boundary === 'exact'));
  const result = ClassifyResultSchema.parse(final);
  assert.ok(result.stateClassification, "final both: the final state's classification too");
  assert.equal(result.coverage?.final, 'both');
  assert.equal(result.coverage?.boundaries, 'exact');

  const text = await run([...args, '--quiet']);
  assert.equal(text.code, 0, text.stderr);
  const first = sections[0]!;
  const best =
    first.task === 'classify'
      ? first.classification.labels.find((l) => l.label === first.classification.best)!
      : undefined;
  assert.ok(
    text.stdout.startsWith(
      `§1/${sections.length} tokens 0–400 (exact cut)\n${best!.label} ${(100 * best!.probability).toFixed(1)}%\n\n`,
    ),
    text.stdout,
  );
  assert.match(
    text.stdout,
    /\nfrom the sections:\nlabel +probability +log-prob\n[^]*\nfrom the final state:\nlabel +probability +log-prob\n[^]*best: \w+\n$/,
  );
});

test('a run killed with SIGKILL after some sections, run again, prints exactly the uninterrupted output', async () => {
  const args = [...SUMMARIZE, '--chunk-tokens', '32', '--json'];
  const reference = await run([...args, '--checkpoint-dir', tempDir('ckpt'), '--quiet']);
  assert.equal(reference.code, 0, reference.stderr);
  const sectionCount = jsonLines(reference.stdout).sections.length;

  const checkpoints = tempDir('ckpt');
  const started = startCli([...args, '--checkpoint-dir', checkpoints], { env: ENV });
  // Chunk 40 of 32 tokens: past the second section's end (1024 + slack).
  await waitForCheckpoint(started, checkpoints, 40);
  started.child.kill('SIGKILL');
  const killed = await started.done;
  assert.equal(killed.signal, 'SIGKILL');
  const printed = killed.stdout.split('\n').filter((line) => line.length > 0);
  assert.ok(
    printed.length >= 2 && printed.length < sectionCount,
    `killed after ${printed.length} of ${sectionCount} sections`,
  );
  assert.ok(reference.stdout.startsWith(killed.stdout), 'what was printed before the kill is the start of the output');

  const resumed = await run([...args, '--checkpoint-dir', checkpoints]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^resuming from the checkpoint: /);
  assert.equal(resumed.stdout, reference.stdout);
  assert.deepEqual(jobDirs(checkpoints), []);
});

test('a job killed at any write prints the same sections and result when run again', async () => {
  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  try {
    const text = DOC_TEXT.slice(0, 300);
    const file = path.join(tempDir('input'), 'short.txt');
    writeFileSync(file, text);
    const task = ClassifyTaskSchema.parse({
      kind: 'classify',
      labels: ['rivers', 'finance'],
      sections: { every: 48, slack: 8 },
    });
    const observer: JobObserver = { start() {}, progress() {} };
    const once = async (checkpointDir: string, ops?: ReturnType<typeof dyingOps>) => {
      const out: string[] = [];
      await runDocumentJob(
        {
          engine,
          settings: PipelineSettingsSchema.parse({ chunkTokens: 64 }),
          checkpointDir,
          input: await prepareInput(file, spoolPath(checkpointDir)),
          id: 'short.txt',
          weights: engine.model.info.weights,
          device: engine.model.info.device,
          stop: new AbortController().signal,
          log: quietLog,
          observer,
          task,
          onSection: async (json) => void out.push(json),
          ...(ops ? { ops } : {}),
        },
        async (results) => {
          for await (const json of results) out.push(json);
        },
      );
      return out;
    };
    const reference = await once(tempDir('ckpt'));
    assert.equal(reference.length, Math.floor((300 - 1) / 48) + 2, 'every section, then the result');
    DocumentResultSchema.parse(JSON.parse(reference.at(-1)!));
    let deaths = 0;
    for (let steps = 0; ; steps += 2) {
      const checkpointDir = tempDir('kill');
      const ops = dyingOps(steps);
      let first: string[] = [];
      try {
        first = await once(checkpointDir, ops);
      } catch (err) {
        assert.ok(ops.dead(), `died only of the kill: ${(err as Error).message}`);
      }
      if (!ops.dead()) {
        assert.deepEqual(first, reference);
        break;
      }
      deaths++;
      assert.deepEqual(await once(checkpointDir), reference, `killed after ${steps} file operations`);
    }
    assert.ok(deaths > 20, `the run's write points were tried (${deaths})`);
  } finally {
    engine.dispose();
  }
});

test('bad section flags are refused with the flag and what it expects', async () => {
  const doc = [DOC, ...model, '--checkpoint-dir', tempDir('ckpt')];
  // All usage errors (exit 2), an option the command does not have included.
  const cases: [string[], RegExp, number?][] = [
    [['summarize', ...doc, '--sections', 'many'], /--sections must be a number, got "many"/],
    [['summarize', ...doc, '--sections', '100.5'], /--sections must be a whole number, got "100.5"/],
    [['summarize', ...doc, '--sections', '8'], /--sections: sections\.every is at least 16 tokens/],
    [
      ['summarize', ...doc, '--sections', '64', '--section-slack', '32'],
      /--section-slack: sections\.slack must be less than half of sections\.every \(64\): expected at most 31, got 32/,
    ],
    [
      ['summarize', ...doc, '--sections', '64', '--section-boundaries', 'paragraph'],
      /--section-boundaries: .*"natural".*"exact"/,
    ],
    [
      ['classify', ...doc, '--labels', 'a,b', '--sections', '64', '--final', 'middle'],
      /--final: .*"sections".*"state".*"both"/,
    ],
    [['summarize', ...doc, '--final', 'both'], /--final needs --sections K/],
    [
      ['summarize', ...doc, '--sections', '64', '--reduce-fan-in', '1'],
      /--reduce-fan-in: sections\.reduce\.fanIn is at least 2/,
    ],
    [
      ['summarize', ...doc, '--sections', '64', '--section-template', ''],
      /--section-template: a template is not empty/,
    ],
    [
      ['classify', ...doc, '--labels', 'a,b', '--sections', '64', '--section-max-tokens', '5'],
      /unknown option '--section-max-tokens'/,
    ],
    [
      ['submit', '--task', 'classify', '--labels', 'a,b', '--file', DOC, '--sections', '64', '--reduce-fan-in', '4'],
      /--reduce-fan-in is for --task summarize/,
    ],
    [['submit', '--task', 'summarize', '--file', DOC, '--section-slack', '4'], /--section-slack needs --sections K/],
  ];
  const runs = await Promise.all(cases.map(([args]) => run(args)));
  runs.forEach((r, i) => {
    assert.equal(r.code, cases[i]![2] ?? 2, `${cases[i]![0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i]![1]);
  });
});

// ---- distributed: result --sections ----------------------------------------------------------------------

const exec = promisify(execFile);
const prefix = uniqueName('sections');
const topics = topicsFor(prefix);
let brokers: string[] | undefined;
let worker: RunningWorker | undefined;
const collector = new TopicCollector();

after(
  async () => {
    await worker?.stop();
    await collector.stop();
    if (brokers) await deleteTopics(brokers, topics).catch(() => {});
    await clearPrefix(prefix);
  },
  { timeout: 60_000 },
);

async function rwkvstream(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliEntry, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("result --sections prints a running document's sections so far, and with --wait all of them as they come", {
  timeout: 240_000,
}, async () => {
  brokers = await kafkaBrokers();
  await createTopics(brokers, topics);
  await collector.start(brokers, [topics.results]);
  worker = await startTestWorker({ brokers, prefix, topics, groupId: prefix }, {}, { chunkTokens: 256 });
  const file = path.join(inputs, 'long.txt');
  const text = documentText(160);
  writeFileSync(file, text);
  const redisArgs = ['--redis', redisUrl, '--prefix', prefix];
  const submitted = await rwkvstream(
    'submit',
    '--kafka',
    brokers.join(','),
    '--topic-prefix',
    prefix,
    '--task',
    'classify',
    '--labels',
    'rivers,finance',
    '--file',
    file,
    '--id',
    'long-doc',
    '--sections',
    '512',
  );
  assert.equal(submitted.code, 0, submitted.stderr);

  // Once the first sections are stored, while the document is still being read.
  const redis = new Redis(redisUrl);
  const keys = new Keys(prefix);
  try {
    for (let tries = 0; (await redis.hlen(keys.sections('long-doc'))) < 2; tries++) {
      assert.ok(tries < 600, 'the first sections are stored within a minute');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await redis.quit();
  }
  const sofar = await rwkvstream('result', 'long-doc', ...redisArgs, '--sections', '--json');
  const pending = await rwkvstream('result', 'long-doc', ...redisArgs);
  assert.equal(sofar.code, 0, sofar.stderr);
  assert.equal(pending.code, 3, 'the document was still running after the sections were read');
  const early = sofar.stdout
    .trimEnd()
    .split('\n')
    .map((line) => SectionResultSchema.parse(JSON.parse(line)));
  assert.ok(early.length >= 2);
  assert.deepEqual(
    early.map((s) => s.section),
    early.map((_, i) => i),
  );

  const all = await rwkvstream('result', 'long-doc', ...redisArgs, '--sections', '--json', '--wait', '180');
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  const sections = lines.map((line) => SectionResultSchema.parse(JSON.parse(line)));
  const total = Math.floor((Buffer.byteLength(text) - 1) / 512) + 1;
  assert.deepEqual(
    sections.map((s) => s.section),
    Array.from({ length: total }, (_, i) => i),
  );
  assert.ok(all.stdout.startsWith(sofar.stdout), 'the same sections, in the same order, as before');
  assert.equal(sections.at(-1)!.end, Buffer.byteLength(text));

  // The results topic carries the same section results (at least once: compare each section's bytes).
  const published = await collector.waitFor(topics.results, (rs) =>
    rs.some((r) => r.key === 'long-doc' && r.value.includes('"kind":"document"')),
  );
  const bySection = new Map(
    published
      .filter((r) => r.key === 'long-doc' && r.value.includes('"kind":"section"'))
      .map((r) => [SectionResultSchema.parse(JSON.parse(r.value)).section, r.value]),
  );
  assert.deepEqual(
    lines,
    Array.from({ length: total }, (_, i) => bySection.get(i)),
  );

  const asText = await rwkvstream('result', 'long-doc', ...redisArgs, '--sections');
  assert.equal(asText.code, 0, asText.stderr);
  assert.ok(asText.stdout.startsWith(`§1/${total} tokens 0–${sections[0]!.end} (`), asText.stdout.slice(0, 200));
  const none = await rwkvstream('result', 'no-such-doc', ...redisArgs, '--sections');
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no sections for no-such-doc/);
});
