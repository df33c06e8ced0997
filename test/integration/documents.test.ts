// Documents end to end against the real broker and Redis, through the CLI contracts: `submit` publishes,
// a worker consumes, plans and runs the chunk chain, `result --wait` prints what the results topic carries.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { Queue } from 'bullmq';

import { summarize } from '../../pipelines/tasks/index.ts';
import { DocumentResultSchema } from '../../schemas/results.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { cliEntry } from '../helpers/paths.ts';
import { useDeployment } from './helpers/deployment.ts';
import { redisUrl } from './helpers/services.ts';
import { startTestWorker } from './helpers/worker.ts';

const exec = promisify(execFile);
const MAX_MESSAGE = 64 * 1024;
let server: http.Server;

const deployment = useDeployment('docs', {
  setUp: async (d) => {
    server = http.createServer((req, res) => {
      // Streamed in small pieces, so the reader must take a body that arrives over time.
      const text = documentText(300);
      res.writeHead(req.url === '/doc.txt' ? 200 : 404, { 'Content-Type': 'text/plain' });
      if (req.url !== '/doc.txt') return void res.end();
      let at = 0;
      const next = () => {
        if (at >= text.length) return void res.end();
        res.write(text.slice(at, at + 5000));
        at += 5000;
        setImmediate(next);
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    d.onTeardown(() => {
      server.closeAllConnections();
      server.close();
    });
    // The test server is on loopback: allowed by its exact address and port, as an operator would have to.
    const fetch = { allow: [`127.0.0.1:${(server.address() as AddressInfo).port}`] };
    const worker = await startTestWorker(
      d,
      {},
      { chunkTokens: 1024, maxMessageBytes: MAX_MESSAGE, fileRoots: [dir], fetch },
    );
    d.onTeardown(() => worker.stop());
  },
});
const { prefix, topics, collector } = deployment;
const dir = deployment.tempDir();

function documentText(lines: number): string {
  return Array.from(
    { length: lines },
    (_, i) =>
      `${i}. The river keeps its pace; the fox and the dog walk the bank and count the boats (${(i * 37) % 101}).\n`,
  ).join('');
}

async function cli(...args: string[]): Promise<string> {
  return (await exec(process.execPath, [cliEntry, ...args], { maxBuffer: 64 << 20 })).stdout;
}

const kafkaArgs = () => ['--kafka', deployment.brokers.join(','), '--topic-prefix', prefix];
const redisArgs = ['--redis', redisUrl, '--prefix', prefix];

async function resultOf(id: string) {
  const out = await cli('result', id, ...redisArgs, '--wait', '120');
  const published = await collector.waitFor(topics.results, (rs) => rs.some((r) => r.key === id), 30_000);
  assert.equal(published.filter((r) => r.key === id).length, 1, 'published once');
  assert.equal(published.find((r) => r.key === id)!.value, out.trim(), 'the topic carries what `result` prints');
  return DocumentResultSchema.parse(JSON.parse(out));
}

test('a multi-chunk document sent whole: submit prints its id, result --wait prints the result', {
  timeout: 180_000,
}, async () => {
  const file = path.join(dir, 'whole.txt');
  const text = documentText(150);
  writeFileSync(file, text);
  assert.ok(Buffer.byteLength(text) < MAX_MESSAGE - 1000, 'fits in one record');
  const id = (
    await cli(
      'submit',
      ...kafkaArgs(),
      '--task',
      'summarize',
      '--file',
      file,
      '--id',
      'doc-whole',
      '--max-tokens',
      '24',
    )
  ).trim();
  assert.equal(id, 'doc-whole');
  const result = await resultOf(id);
  assert.equal(result.task, 'summarize');
  assert.equal(result.tokens, Buffer.byteLength(text));
  assert.equal(result.chunks, Math.ceil(Buffer.byteLength(text) / 1024));
  assert.ok(result.chunks >= 10);

  // Progress of the last chunk job: tokens done and total.
  const queue = new Queue('chunks', { connection: deployment.redis, prefix });
  const last = await queue.getJob(`chunk~doc-whole~${result.chunks - 1}`);
  assert.deepEqual(last?.progress, {
    tokensDone: result.tokens,
    tokensTotal: result.tokens,
    chunk: result.chunks,
    chunks: result.chunks,
  });
  await queue.close();

  // The same as reading the text in one go with the engine and summarizing.
  const engine = await Engine.load({ model: tinyModel, threads: 1 });
  const state = engine.model.newState();
  await engine.model.forward(engine.tokenizer.encodeSync(text), state, 'none');
  const direct = await summarize(engine, state, SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 24 }));
  assert.equal(result.task === 'summarize' && result.summary.text, direct.text);
  engine.dispose();
});

test('a document far bigger than the record limit goes in parts and gives the result of the whole text', {
  timeout: 180_000,
}, async () => {
  const text = documentText(1200); // ~120 KB against a 64 KiB record limit
  const file = path.join(dir, 'parted.txt');
  writeFileSync(file, text);
  await cli(
    'submit',
    ...kafkaArgs(),
    '--task',
    'summarize',
    '--file',
    file,
    '--id',
    'doc-parted',
    '--max-tokens',
    '24',
    '--part-bytes',
    '16384',
    '--max-message-bytes',
    String(MAX_MESSAGE),
  );
  const parted = await resultOf('doc-parted');
  assert.equal(parted.tokens, Buffer.byteLength(text));

  // The same bytes by reference (file://) give the same result.
  await cli(
    'submit',
    ...kafkaArgs(),
    '--task',
    'summarize',
    '--url',
    pathToFileURL(file).href,
    '--id',
    'doc-file-ref',
    '--max-tokens',
    '24',
  );
  const byRef = await resultOf('doc-file-ref');
  assert.deepEqual({ ...byRef, id: '' }, { ...parted, id: '' });
});

test('a document by http:// reference, read as a stream', { timeout: 180_000 }, async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/doc.txt`;
  await cli(
    'submit',
    ...kafkaArgs(),
    '--task',
    'classify',
    '--labels',
    'rivers,finance,sports',
    '--url',
    url,
    '--id',
    'doc-http',
  );
  const result = await resultOf('doc-http');
  assert.equal(result.tokens, Buffer.byteLength(documentText(300)));
  assert.equal(result.task, 'classify');
  const labels = result.task === 'classify' ? result.classification.labels : [];
  assert.deepEqual(
    labels.map((l) => l.label),
    ['rivers', 'finance', 'sports'],
  );
  assert.ok(Math.abs(labels.reduce((a, l) => a + l.probability, 0) - 1) < 1e-9);
});

test('result: a missing id exits 3 after the wait; a failed document prints its failure and exits 4', {
  timeout: 120_000,
}, async () => {
  await assert.rejects(
    cli('result', 'no-such-doc', ...redisArgs, '--wait', '0.5'),
    (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.stderr ?? '', /no result for no-such-doc/);
      return true;
    },
  );
  await cli(
    'submit',
    ...kafkaArgs(),
    '--task',
    'summarize',
    '--url',
    `http://127.0.0.1:${(server.address() as AddressInfo).port}/missing.txt`,
    '--id',
    'doc-404',
  );
  await assert.rejects(
    cli('result', 'doc-404', ...redisArgs, '--wait', '60'),
    (err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.equal(err.code, 4);
      assert.equal(JSON.parse(err.stdout!).code, 'E_REF_STATUS');
      assert.match(err.stderr ?? '', /404/);
      return true;
    },
  );
  const letters = await collector.waitFor(topics.deadLetter, (rs) => rs.some((r) => r.key === 'doc-404'));
  const letter = JSON.parse(letters.find((r) => r.key === 'doc-404')!.value);
  assert.equal(letter.stage, 'plan');
  assert.equal(
    JSON.parse(Buffer.from(letter.original.base64, 'base64').toString()).body.kind,
    'ref',
    'carries the original record',
  );
});
