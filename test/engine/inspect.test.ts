// inspectModel: a model file's configuration from its header and parameter table agrees with what a full load
// reports, for every fixture family (RWKV-7 and the older versions; .pth, safetensors and rwkv.cpp .bin; f32,
// f16, bf16), gives the loaded model's fingerprint when asked, and refuses damaged files with a load's codes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { EngineError, inspectModel, Model } from '../../engine/index.ts';
import { native } from '../../engine/native.ts';
import { fixture, repoRoot } from '../helpers/paths.ts';
import { writeRandomOlderModel } from '../helpers/random-older.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-inspect-'));

const FIXTURES = [
  fixture('rwkv7', 'tiny-rwkv7-834K-fp32.pth'),
  fixture('rwkv7', 'tiny-rwkv7-834K-bf16.pth'),
  fixture('rwkv7', 'synth-rwkv7-L3-D256-H4-fp32.pth'),
  fixture('rwkv7', 'tiny-rwkv-7v0-834K-FP32.bin'),
  fixture('rwkv7', 'tiny-rwkv-7v0-834K-FP16.bin'),
  fixture('older', 'random-v4-L2-C128.pth'),
  fixture('older', 'random-v5.2-L2-C128.pth'),
  fixture('older', 'random-v6-L2-C128.pth'),
  fixture('older', 'tiny-rwkv-4v0-660K-FP16.bin'),
  fixture('older', 'tiny-rwkv-5v1-730K-FP32.bin'),
  fixture('older', 'tiny-rwkv-5v2-730K-FP16.bin'),
  path.join(repoRoot, 'native', 'test', 'fixtures', 'deepembed', 'random-x070-7a-L2-C32.pth'),
];

async function agrees(file: string): Promise<void> {
  const inspected = await inspectModel(file, { fingerprint: true });
  const model = await Model.load({ model: file, threads: 1 });
  try {
    const loaded = model.info;
    for (const key of [
      'version',
      'format',
      'fileDtype',
      'nLayer',
      'nEmbd',
      'nHead',
      'headSize',
      'vocabSize',
      'ffn',
      'ranks',
      'stateFloats',
      'fingerprint',
    ] as const) {
      assert.deepEqual(inspected[key], loaded[key], `${path.basename(file)}: ${key}`);
    }
    assert.ok(
      inspected.dtypes.includes(inspected.fileDtype),
      `${path.basename(file)}: dtypes ${inspected.dtypes.join(',')}`,
    );
    assert.ok(inspected.parameters > 0 && inspected.tensors > 0);
  } finally {
    model.dispose();
  }
  // The fingerprint only when asked: it reads every byte.
  assert.equal((await inspectModel(file)).fingerprint, undefined);
}

test('inspect agrees with a full load on every fixture family', async () => {
  for (const file of FIXTURES) await agrees(file);
});

test('inspect agrees with a full load on safetensors files of RWKV-7 and the older versions', async () => {
  const x070 = path.join(dir, 'random-x070.safetensors');
  await native().writeRandomModel(
    x070,
    { layers: 2, embd: 64, headSize: 32, vocab: 300, ffn: 256, rankW: 8, rankA: 8, rankV: 8, rankG: 8 },
    3,
  );
  await agrees(x070);
  const info = await inspectModel(x070);
  assert.equal(info.format, 'safetensors');
  assert.equal(info.nHead, 2);
  // emb and head (V x C each), and per layer the matrices and vectors: the count is of every element in the file.
  assert.ok(info.parameters > 2 * 300 * 64);
  for (const version of ['v4', 'x052', 'x060'] as const) {
    const file = path.join(dir, `random-${version}.safetensors`);
    writeRandomOlderModel(file, { version, vocab: 100, embd: 64, layers: 2 });
    await agrees(file);
  }
});

async function refusedLikeLoad(file: string, code: RegExp): Promise<void> {
  const codeOf = async (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => assert.fail(`${file} was not refused`),
      (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        return e.code;
      },
    );
  const byLoad = await codeOf(Model.load({ model: file, threads: 1 }));
  const byInspect = await codeOf(inspectModel(file));
  assert.match(byInspect, code, file);
  assert.equal(byInspect, byLoad, `${file}: inspect and load refuse alike`);
}

test('inspect refuses damaged files with the codes a load gives', async () => {
  const synth = readFileSync(fixture('rwkv7', 'synth-rwkv7-L3-D256-H4-fp32.pth'));
  const cut = path.join(dir, 'cut.pth');
  writeFileSync(cut, synth.subarray(0, Math.floor(synth.length / 2)));
  await refusedLikeLoad(cut, /^E_MODEL_(TRUNCATED|FORMAT)$/);
  const stub = path.join(dir, 'stub.pth');
  writeFileSync(stub, synth.subarray(0, 10));
  await refusedLikeLoad(stub, /^E_MODEL_TRUNCATED$/);
  const text = path.join(dir, 'text.safetensors');
  writeFileSync(text, 'not a model at all, just some text that is long enough\n');
  await refusedLikeLoad(text, /^E_MODEL_FORMAT$/);
  // A torch-written archive of a toy layout: a container, but no RWKV model.
  await refusedLikeLoad(fixture('pth-container', '260123_reverse_L2_only_rwkv7.pth'), /^E_MODEL_VERSION$/);
  await refusedLikeLoad(path.join(dir, 'missing.pth'), /^E_IO$/);
  const bin = readFileSync(fixture('older', 'tiny-rwkv-5v2-730K-FP32.bin'));
  const cutBin = path.join(dir, 'cut.bin');
  writeFileSync(cutBin, bin.subarray(0, bin.length - 1000));
  await refusedLikeLoad(cutBin, /^E_MODEL_/);
});
