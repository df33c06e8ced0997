// doctor's findings: a model with a vocabulary that does not belong to it fails with the fix, a good pair
// passes the round trip, an unreachable Redis or Kafka fails, the real Redis answers (ok or warn), a bad
// setting fails the config check, and the command's exit status follows the report.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import type { CheckResult, DoctorReport } from '../../schemas/doctor.ts';
import { runDoctor } from '../../services/doctor/run.ts';
import { synthModel, tinyModel } from '../helpers/fixtures.ts';
import { cliEntry, worldVocab } from '../helpers/paths.ts';

const run = promisify(execFile);
const home = mkdtempSync(path.join(tmpdir(), 'rwkvstream-doctor-'));
/** Only what a test sets: no REDIS_URL or KAFKA_BROKERS from the machine, an empty model cache. */
const env = { HOME: home, RWKVSTREAM_HOME: home };

function check(report: DoctorReport, name: string): CheckResult {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check named ${name} in ${JSON.stringify(report.checks.map((c) => c.name))}`);
  return found;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a byte-level model with the World vocabulary fails the tokenizer check with the fix', async () => {
  const report = await runDoctor({ env, flags: { model: tinyModel, vocab: worldVocab } });
  assert.equal(report.ok, false);
  assert.equal(check(report, 'native engine').status, 'ok');
  const model = check(report, 'model');
  assert.equal(model.status, 'ok');
  assert.match(model.message, /x070, 12 layers x 64, 1 head, vocabulary 256/);
  const tokenizer = check(report, 'tokenizer');
  assert.equal(tokenizer.status, 'fail');
  assert.match(
    tokenizer.message,
    /^E_TOKENIZER_MISMATCH: the world tokenizer .* 65530 ids\) does not fit the model's vocabulary of 256 ids$/,
  );
  assert.equal(tokenizer.fix, 'this is a byte-level model: use --vocab bytes (or give no vocabulary)');
  assert.equal(check(report, 'round trip').status, 'skip');
});

test('a model whose vocabulary matches no known tokenizer is told to bring its own', async () => {
  const report = await runDoctor({ env, flags: { model: synthModel, vocab: worldVocab } });
  const tokenizer = check(report, 'tokenizer');
  assert.equal(tokenizer.status, 'fail');
  assert.match(tokenizer.fix ?? '', /\(1024 ids\)/);
});

test('a good pair passes: the canary survives encode/decode byte for byte and gives finite logits', async () => {
  for (const flags of [{ model: tinyModel, vocab: 'bytes' }, { model: tinyModel }]) {
    const report = await runDoctor({ env, flags });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.equal(check(report, 'tokenizer').status, 'ok');
    const canary = check(report, 'round trip');
    assert.equal(canary.status, 'ok');
    assert.match(canary.message, /-> the same bytes; 256 finite logits$/);
    assert.equal(check(report, 'redis').status, 'skip');
    assert.equal(check(report, 'kafka').status, 'skip');
  }
});

test('no model anywhere (offline): the model check fails with the three ways, later checks are skipped', async () => {
  const report = await runDoctor({ env: { ...env, RWKVSTREAM_OFFLINE: '1' } });
  const model = check(report, 'model');
  assert.equal(model.status, 'fail');
  assert.match(model.message, /--model FILE[\s\S]*RWKVSTREAM_MODEL=FILE[\s\S]*rwkvstream models pull g1-0\.1b/);
  assert.equal(check(report, 'tokenizer').status, 'skip');
});

test('an unreachable Redis and an unreachable Kafka fail with a fix', async () => {
  const report = await runDoctor({
    env: { ...env, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` },
    flags: { model: tinyModel, kafka: `127.0.0.1:${await closedPort()}` },
  });
  assert.equal(report.ok, false);
  const redis = check(report, 'redis');
  assert.equal(redis.status, 'fail');
  assert.match(redis.message, /ECONNREFUSED/);
  assert.match(redis.fix ?? '', /REDIS_URL/);
  assert.equal(report.checks.filter((c) => c.name.startsWith('redis ')).length, 0);
  const kafka = check(report, 'kafka');
  assert.equal(kafka.status, 'fail');
  assert.match(kafka.fix ?? '', /KAFKA_BROKERS/);
});

test('the Redis at 127.0.0.1:6379 answers; eviction policy and persistence are reported as ok or warn', async () => {
  const report = await runDoctor({ env, flags: { model: tinyModel, redis: 'redis://127.0.0.1:6379' } });
  assert.equal(check(report, 'redis').status, 'ok');
  for (const name of ['redis maxmemory-policy', 'redis appendonly']) {
    const c = check(report, name);
    assert.ok(c.status === 'ok' || c.status === 'warn', `${name}: ${c.status}`);
    assert.equal(c.fix === undefined, c.status === 'ok', `${name}: a warning carries a fix`);
  }
  assert.equal(report.ok, true);
});

test('a bad setting fails the config check and names where it came from', async () => {
  const report = await runDoctor({ env: { ...env, RWKVSTREAM_THREADS: 'many' } });
  assert.equal(report.ok, false);
  assert.match(check(report, 'config').message, /^environment RWKVSTREAM_THREADS: threads: .*, got "many"$/);
});

test('the command exits 1 when a check fails and 0 otherwise, as text or JSON', async () => {
  const passOn = Object.fromEntries(
    ['PATH', 'RWKVSTREAM_ADDON', 'RWKV_SHARED_DIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
  );
  const options = { env: { ...env, ...passOn } };
  const failed = await run(
    process.execPath,
    [cliEntry, 'doctor', '--model', tinyModel, '--vocab', worldVocab, '--json'],
    options,
  ).then(
    () => assert.fail('expected exit status 1'),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(failed.code, 1);
  const report = JSON.parse(failed.stdout) as DoctorReport;
  assert.equal(report.ok, false);
  assert.equal(check(report, 'tokenizer').status, 'fail');

  const passed = await run(process.execPath, [cliEntry, 'doctor', '--model', tinyModel], options);
  assert.match(passed.stdout, /^ok {4}round trip/m);
  assert.match(passed.stdout, /no check failed/);
});
