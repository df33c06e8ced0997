// The GPU kit end to end on this machine: bench/gpu/pack.sh --cpu packs node, the production dependencies,
// the addon, rwkv_bench, redis-server and the vocabulary within the 64 MiB a GPU call may carry, and
// bench/gpu/run.sh --device cpu --small unpacks it into a fresh folder and runs every measurement step
// (embedded summarize, the worker on the kit's own Redis, generation) with the kit's node, writing the JSON
// and markdown results. On a GPU machine the same two scripts run with the CUDA build.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

const exec = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-gpu-kit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the kit packs within 64 MiB and runs every step from a fresh folder with --device cpu --small', {
  timeout: 900_000,
}, async () => {
  const kit = path.join(dir, 'kit');
  const packed = await exec(path.join(repoRoot, 'bench', 'gpu', 'pack.sh'), ['--cpu'], {
    env: { ...process.env, KIT_DIR: kit },
    maxBuffer: 16 << 20,
  });
  assert.equal(packed.stdout.trim(), kit);
  const sizeLine = packed.stderr.split('\n').find((l) => l.includes(' MiB of 64 MiB'));
  assert.ok(sizeLine, `the packer reports the size: ${packed.stderr}`);
  for (const file of [
    'node.xz',
    'node_modules.tar.xz',
    'rwkv.node.xz',
    'rwkv_bench.xz',
    'redis.tar.xz',
    'rwkv_vocab_v20230424.txt.xz',
    'manifest.json',
  ]) {
    assert.ok(existsSync(path.join(kit, file)), `${file} is in the kit`);
  }
  const kitBytes = ['node.xz', 'node_modules.tar.xz', 'rwkv.node.xz', 'rwkv_bench.xz', 'redis.tar.xz'].reduce(
    (s, f) => s + statSync(path.join(kit, f)).size,
    0,
  );
  assert.ok(kitBytes < 64 * 2 ** 20, `kit of ${kitBytes} bytes`);
  const packages = readFileSync(path.join(kit, 'packages.txt'), 'utf8');
  assert.match(packages, /node_modules\/bullmq/);
  assert.doesNotMatch(packages, /node_modules\/typescript\b/, 'no development dependencies');

  // The same size check refuses a limit the kit cannot meet.
  await assert.rejects(
    exec(path.join(repoRoot, 'bench', 'gpu', 'pack.sh'), ['--check'], {
      env: { ...process.env, KIT_DIR: kit, KIT_LIMIT_BYTES: '1048576' },
    }),
    (err: { stderr: string }) => /more than 1048576/.test(err.stderr),
  );
  await exec(path.join(repoRoot, 'bench', 'gpu', 'pack.sh'), ['--check'], { env: { ...process.env, KIT_DIR: kit } });

  const out = path.join(dir, 'out');
  const work = path.join(dir, 'work');
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    KIT_DIR: kit,
    WORK_DIR: work,
    OUT: out,
    REDIS_PORT: '6397',
    BUDGET_S: '240',
    TOTAL_S: '720',
  };
  const ran = await exec(path.join(repoRoot, 'bench', 'gpu', 'run.sh'), ['--device', 'cpu', '--small'], {
    env,
    maxBuffer: 64 << 20,
    timeout: 840_000,
  }).catch((err: { stdout: string; stderr: string; code: number }) =>
    assert.fail(`run.sh exited ${err.code}: ${err.stdout.slice(-3000)}${err.stderr.slice(-3000)}`),
  );
  assert.match(ran.stdout, /\| step \| shape \| ok \|/);
  const report = JSON.parse(readFileSync(path.join(out, 'gpu-results.json'), 'utf8')) as {
    device: string;
    small: boolean;
    node: string;
    steps: { step: string; ok: boolean; error?: string; figures: Record<string, number | string | null> }[];
  };
  assert.equal(report.device, 'cpu');
  assert.equal(report.node, path.join(work, 'bin', 'node'), "the measurements ran on the kit's node");
  assert.deepEqual(
    report.steps.map((s) => s.step),
    ['summarize', 'worker', 'generate'],
  );
  for (const s of report.steps) assert.ok(s.ok, `${s.step}: ${s.error}`);
  const [summarize, worker, generate] = report.steps as [
    (typeof report.steps)[0],
    (typeof report.steps)[0],
    (typeof report.steps)[0],
  ];
  assert.ok((summarize.figures.tokens as number) >= 2048);
  assert.ok((summarize.figures.end_to_end_tok_s as number) > 0 && typeof summarize.figures.ratio === 'number');
  assert.equal(worker.figures.documents, 4);
  assert.ok((worker.figures.tok_s as number) > 0 && (worker.figures.chunk_p50_ms as number) >= 0);
  assert.ok((generate.figures.generated as number) >= 8 && typeof generate.figures.ratio === 'number');
  assert.match(readFileSync(path.join(out, 'gpu-results.md'), 'utf8'), /\| summarize \| 0\.1b \| yes \|/);
  assert.ok(existsSync(path.join(out, 'device.txt')) && existsSync(path.join(out, 'doctor.json')));
});
