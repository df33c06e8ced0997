// Operating the distributed mode from the command line, on the real broker and Redis: workers, submit,
// status and result configured only through REDIS_URL, KAFKA_BROKERS, RWKVSTREAM_* and a --config file; two
// workers with default metrics settings on one machine; `status` of a running document (chunk k of n), a
// refused one, a failed one and an unknown id; `result --wait` ending with a refusal's reason.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { DocumentStatusReportSchema, type DocumentStatusReport } from '../../schemas/status.ts';
import { RedisResultStore } from '../../services/adapters/redis/result-store.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';
import { kafkaClient, redisUrl, topicsFor, uniqueName } from './helpers/services.ts';

const exec = promisify(execFile);

interface Worker {
  name: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  metricsPort: number;
}

const workers: Worker[] = [];
let configFile = '';
let env: NodeJS.ProcessEnv = {};

const deployment = useDeployment('operate', {
  setUp: async (d) => {
    // The deployment's names reach every command through the environment and one config file only.
    configFile = path.join(dir, 'rwkvstream.json');
    writeFileSync(
      configFile,
      JSON.stringify({ topicPrefix: d.prefix, worker: { groupId: d.groupId }, chunkTokens: 64 }),
    );
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      REDIS_URL: redisUrl,
      KAFKA_BROKERS: d.brokers.join(','),
      RWKVSTREAM_MODEL: tinyModel,
      RWKVSTREAM_PREFIX: d.prefix,
      RWKVSTREAM_THREADS: '1',
      RWKVSTREAM_CONFIG: configFile,
      // The shared test Redis runs without persistence.
      RWKVSTREAM_ALLOW_VOLATILE_REDIS: 'true',
    };
    d.onTeardown(() => Promise.all(workers.map(stop)));
  },
});
const dir = deployment.tempDir();

async function stop(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** `rwkvstream worker` with no service flags at all: everything comes from the environment and the config file. */
async function startWorker(name: string): Promise<Worker> {
  const child = spawn(process.execPath, [cliEntry, 'worker', '--name', name], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const worker: Worker = { name, child, logs, metricsPort: -1 };
  workers.push(worker);
  worker.metricsPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${name} not ready in 60 s: ${JSON.stringify(logs.slice(-5))}`)),
      60_000,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'worker ready') {
        clearTimeout(timer);
        resolve(entry.metricsPort as number);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited with ${code}: ${JSON.stringify(logs.slice(-5))}`));
    });
  });
  return worker;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cliEntry, ...args], {
      env: { ...env, ...extraEnv },
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function status(id: string): Promise<{ code: number; report: DocumentStatusReport }> {
  const out = await cli(['status', id, '--json']);
  assert.ok(out.stdout.length > 0, `status printed nothing (exit ${out.code}): ${out.stderr}`);
  return { code: out.code, report: DocumentStatusReportSchema.parse(JSON.parse(out.stdout)) };
}

test('two workers with default metrics settings on one machine both start, each on its own port', {
  timeout: 150_000,
}, async () => {
  const first = await startWorker('op-a');
  const second = await startWorker('op-b');
  assert.notEqual(first.metricsPort, second.metricsPort);
  for (const worker of [first, second]) {
    assert.ok(worker.metricsPort >= 9464, `port ${worker.metricsPort}`);
    // A port other than the default was chosen because the default was taken, and the log says so.
    if (worker.metricsPort !== 9464) {
      assert.ok(
        worker.logs.some((l) => /metrics port 9464 is in use/.test(String(l.msg))),
        JSON.stringify(worker.logs),
      );
    }
    const health = await fetch(`http://127.0.0.1:${worker.metricsPort}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { worker: string }).worker, worker.name);
    // The configuration reached the worker: its prefix and topics are this deployment's.
    const ready = worker.logs.find((l) => l.msg === 'worker ready')!;
    assert.equal(ready.prefix, deployment.prefix);
    assert.deepEqual(ready.topics, deployment.topics);
  }
});

test('status of a running document says chunk k of n and which worker has it; then done, and result prints it', {
  timeout: 180_000,
}, async () => {
  const file = path.join(dir, 'long.txt');
  // About 40,000 tokens for the byte-level model: hundreds of 64-token chunks.
  writeFileSync(
    file,
    Array.from(
      { length: 500 },
      (_, i) => `${i}: the river keeps its pace and the boats go by, one after another.\n`,
    ).join(''),
  );
  const submitted = await cli([
    'submit',
    '--task',
    'summarize',
    '--max-tokens',
    '8',
    '--file',
    file,
    '--id',
    'long-doc',
  ]);
  assert.equal(submitted.code, 0, submitted.stderr);
  assert.equal(submitted.stdout.trim(), 'long-doc');

  let running: DocumentStatusReport | undefined;
  const seen = new Set<string>();
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const { code, report } = await status('long-doc');
    seen.add(report.state);
    if (report.state === 'running' && report.chunk > 0 && report.chunk < report.chunks) {
      assert.equal(code, 0);
      running = report;
      break;
    }
    if (report.state === 'done') break;
    await sleep(100);
  }
  assert.ok(running && running.state === 'running', `caught it running (states seen: ${[...seen].join(', ')})`);
  assert.ok(running.tokens > 0 && running.tokens < running.totalTokens);
  assert.equal(running.chunks, Math.ceil(running.totalTokens / 64));
  assert.ok(running.lastWriter === 'op-a' || running.lastWriter === 'op-b', String(running.lastWriter));
  assert.ok(running.worker === null || running.worker === 'op-a' || running.worker === 'op-b', String(running.worker));
  const text = await cli(['status', 'long-doc']);
  assert.match(text.stdout, /^long-doc: (running: chunk \d+ of \d+, |done: )/);

  const result = await cli(['result', 'long-doc', '--wait', '150']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).id, 'long-doc');
  const done = await status('long-doc');
  assert.equal(done.code, 0);
  assert.equal(done.report.state, 'done');
  // The same report over a worker's metrics endpoint.
  const http = await fetch(`http://127.0.0.1:${workers[0]!.metricsPort}/documents/long-doc`);
  assert.equal(http.status, 200);
  assert.deepEqual(await http.json(), done.report);
});

test('a whitespace-only document is refused with a failure record: result --wait ends at once with the reason (exit 4), status says refused', {
  timeout: 120_000,
}, async () => {
  const file = path.join(dir, 'blank.txt');
  writeFileSync(file, ' \n\t\n   \n');
  assert.equal((await cli(['submit', '--task', 'summarize', '--file', file, '--id', 'blank-doc'])).code, 0);
  const started = Date.now();
  const result = await cli(['result', 'blank-doc', '--wait', '90']);
  assert.equal(result.code, 4, result.stderr);
  assert.ok(Date.now() - started < 60_000, 'did not wait out --wait');
  assert.equal(JSON.parse(result.stdout).code, 'E_EMPTY_DOCUMENT');
  assert.match(
    result.stderr,
    /E_EMPTY_DOCUMENT: document blank-doc was refused at ingest: the document has only whitespace/,
  );

  const { code, report } = await status('blank-doc');
  assert.equal(code, 4);
  assert.deepEqual(report, {
    id: 'blank-doc',
    kind: 'document',
    state: 'refused',
    stage: 'ingest',
    code: 'E_EMPTY_DOCUMENT',
    message: 'the document has only whitespace',
  });
  assert.match(
    (await cli(['status', 'blank-doc'])).stdout,
    /blank-doc: refused at ingest: E_EMPTY_DOCUMENT: the document has only whitespace/,
  );
});

test('status of a failed document gives the stage, code and reason (exit 4); of an unknown id, where it looked (exit 3)', {
  timeout: 60_000,
}, async () => {
  // The failure record a chunk that used up its retries leaves (pipelines/failures.ts writes it through this store).
  await new RedisResultStore(deployment.redis, deployment.keys, 600).saveFailure(
    'failed-doc',
    JSON.stringify({
      schema: 'rwkvstream.failure.v1',
      kind: 'failure',
      id: 'failed-doc',
      stage: 'chunk',
      code: 'E_MODEL',
      message: 'the forward call failed',
    }),
  );
  const failed = await status('failed-doc');
  assert.equal(failed.code, 4);
  assert.deepEqual(failed.report, {
    id: 'failed-doc',
    kind: 'document',
    state: 'failed',
    stage: 'chunk',
    code: 'E_MODEL',
    message: 'the forward call failed',
  });
  const result = await cli(['result', 'failed-doc']);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /E_MODEL: document failed-doc failed at chunk: the forward call failed/);

  const unknown = await cli(['status', 'never-submitted']);
  assert.equal(unknown.code, 3);
  assert.ok(
    unknown.stdout.includes(`unknown: nothing under this document id in prefix "${deployment.prefix}" at ${redisUrl}`),
    unknown.stdout,
  );
  const noResult = await cli(['result', 'never-submitted', '--wait', '0.2']);
  assert.equal(noResult.code, 3);
  assert.match(noResult.stderr, /no result for never-submitted after 0\.2 s: unknown: /);
  // Another deployment's prefix, given by flag over the environment: the same id is unknown there.
  assert.equal((await cli(['status', 'long-doc', '--prefix', `${deployment.prefix}-other`])).code, 3);
  assert.equal((await cli(['status', 'long-doc'])).code, 0);
});

test('status --stream: an event stream is unknown until events arrive, then active with its batches scored', {
  timeout: 120_000,
}, async () => {
  const unknown = await cli(['status', 'op/stream', '--stream', '--json']);
  assert.equal(unknown.code, 3);
  assert.deepEqual(JSON.parse(unknown.stdout), { id: 'op/stream', kind: 'stream', state: 'unknown' });
  const producer = kafkaClient(deployment.brokers).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: deployment.topics.events,
      messages: ['disk ok', 'disk ok', 'disk on fire'].map((text) => ({
        key: 'op/stream',
        value: JSON.stringify({ schema: 'rwkvstream.event.v1', stream: 'op/stream', text }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  for (const deadline = Date.now() + 90_000; ; ) {
    const out = await cli(['status', 'op/stream', '--stream', '--json']);
    const report = JSON.parse(out.stdout) as {
      state: string;
      batches?: number;
      waiting?: number;
      lastSequence?: number | null;
      hasResult?: boolean;
    };
    if (report.state === 'active' && report.batches! >= 1 && report.waiting === 0 && report.hasResult) {
      assert.equal(out.code, 0);
      assert.equal(report.lastSequence, 3);
      assert.match(
        (await cli(['status', 'op/stream', '--stream'])).stdout,
        /^op\/stream: active: 1 batch scored, .* read, 0 events waiting/,
      );
      break;
    }
    assert.ok(Date.now() < deadline, `not scored in 90 s: ${out.stdout}`);
    await sleep(200);
  }
});

test('submit creates the topics of a deployment that has none yet', { timeout: 120_000 }, async () => {
  const prefix = uniqueName('op-topics');
  const topics = topicsFor(prefix);
  const file = path.join(dir, 'short.txt');
  writeFileSync(file, 'a short document\n');
  const admin = kafkaClient(deployment.brokers).admin();
  await admin.connect();
  try {
    const out = await cli(['submit', '--task', 'summarize', '--file', file, '--topic-prefix', prefix]);
    assert.equal(out.code, 0, out.stderr);
    const existing = new Set(await admin.listTopics());
    for (const topic of Object.values(topics)) assert.ok(existing.has(topic), `${topic} created`);
  } finally {
    await admin.deleteTopics({ topics: Object.values(topics), timeout: 30_000 }).catch(() => {});
    await admin.disconnect();
  }
});

test('submit writes the prompt format into the task: --prompt-format, else RWKVSTREAM_PROMPT_FORMAT, else raw', {
  timeout: 120_000,
}, async () => {
  const prefix = uniqueName('op-format');
  const topics = topicsFor(prefix);
  const file = path.join(dir, 'format.txt');
  writeFileSync(file, 'a short document\n');
  const kafka = kafkaClient(deployment.brokers);
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: uniqueName('op-format-read') });
  try {
    const submit = async (id: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
      const out = await cli(
        ['submit', '--task', 'summarize', '--file', file, '--id', id, '--topic-prefix', prefix, ...args],
        extraEnv,
      );
      assert.equal(out.code, 0, out.stderr);
    };
    await submit('by-flag', ['--prompt-format', 'rwkv7-g'], { RWKVSTREAM_PROMPT_FORMAT: 'world' });
    await submit('by-env', [], { RWKVSTREAM_PROMPT_FORMAT: 'world' });
    await submit('by-default', []);
    const refused = await cli([
      'submit',
      '--task',
      'summarize',
      '--file',
      file,
      '--topic-prefix',
      prefix,
      '--prompt-format',
      'chatml',
    ]);
    assert.equal(refused.code, 2, `an unknown format is a usage error: ${refused.stderr}`);

    const formats = new Map<string, unknown>();
    await consumer.connect();
    await consumer.subscribe({ topic: topics.documents, fromBeginning: true });
    const read = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const record = JSON.parse(message.value!.toString()) as { id: string; task: { promptFormat?: unknown } };
          formats.set(record.id, record.task.promptFormat);
          if (formats.size === 3) resolve();
        },
      });
    });
    await Promise.race([read, sleep(60_000).then(() => assert.fail(`only ${formats.size} of 3 documents read`))]);
    assert.deepEqual(Object.fromEntries(formats), { 'by-flag': 'rwkv7-g', 'by-env': 'world', 'by-default': 'raw' });
  } finally {
    await consumer.disconnect();
    await admin.deleteTopics({ topics: Object.values(topics), timeout: 30_000 }).catch(() => {});
    await admin.disconnect();
  }
});
