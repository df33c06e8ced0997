// RWKV-7a DeepEmbed (x070-7a) through the TypeScript API: the official package's outputs for the random
// model in native/test/fixtures/deepembed (sequence, one-token and chunked modes), state blobs that name the
// variant and are refused by a plain x070 model of the same shape (and the other way round), the CUDA
// backend's refusal, and RWKV-7b refused with its version named.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { EngineError, Model, readStateInfo } from '../../engine/index.ts';
import { native } from '../../engine/native.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { cliEntry, repoRoot } from '../helpers/paths.ts';

const stem = path.join(repoRoot, 'native', 'test', 'fixtures', 'deepembed', 'random-x070-7a-L2-C32');
const expected = JSON.parse(readFileSync(`${stem}.expected.json`, 'utf8')) as {
  tokens: number[];
  chunks: number[];
  logits: number[];
  logits_one_token: number[];
  logits_chunked: number[];
};
const stateBytes = readFileSync(`${stem}.expected.state.f32`);
const wantState = new Float32Array(
  stateBytes.buffer.slice(stateBytes.byteOffset, stateBytes.byteOffset + stateBytes.byteLength),
);
const TOL = 1e-4; // fp32 compute against the official package's fp32 compute

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-deepembed-'));
const model = await Model.load({ model: `${stem}.pth`, threads: 2 });
after(() => model.dispose());

test('info names the DeepEmbed variant', () => {
  assert.equal(model.info.version, 'x070-7a');
  assert.equal(model.info.device, 'cpu');
  assert.equal(model.info.stateFloats, wantState.length);
});

test('rwkvstream inspect reports the variant with the RWKV-7 fields', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [cliEntry, 'inspect', `${stem}.pth`]);
  assert.deepEqual(JSON.parse(stdout), {
    version: 'x070-7a',
    n_layer: 2,
    n_embd: 32,
    n_head: 2,
    head_size: 16,
    vocab_size: 64,
    ffn: 128,
    ranks: { w: 8, a: 8, v: 4, g: 16 },
    dtype: 'bf16',
  });
});

test('sequence, one-token and chunked modes give the official logits and state', async () => {
  const seq = model.newState();
  const seqLogits = (await model.forward(expected.tokens, seq, 'last'))!;
  assert.ok(
    maxAbsDiff(seqLogits, expected.logits) <= TOL,
    `sequence logits max |Δ| ${maxAbsDiff(seqLogits, expected.logits)}`,
  );
  assert.ok(maxAbsDiff(seq.data, wantState) <= TOL, `sequence state max |Δ| ${maxAbsDiff(seq.data, wantState)}`);

  const one = model.newState();
  let last: Float32Array | null = null;
  for (const t of expected.tokens) last = await model.forward([t], one, 'last');
  assert.ok(
    maxAbsDiff(last!, expected.logits_one_token) <= TOL,
    `one-token logits max |Δ| ${maxAbsDiff(last!, expected.logits_one_token)}`,
  );
  assert.ok(maxAbsDiff(one.data, wantState) <= TOL);

  const chunked = model.newState();
  let at = 0;
  for (const n of expected.chunks) {
    last = await model.forward(expected.tokens.slice(at, at + n), chunked, 'last');
    at += n;
  }
  assert.equal(at, expected.tokens.length);
  assert.ok(
    maxAbsDiff(last!, expected.logits_chunked) <= TOL,
    `chunked logits max |Δ| ${maxAbsDiff(last!, expected.logits_chunked)}`,
  );
  assert.ok(maxAbsDiff(chunked.data, wantState) <= TOL);
});

test('a state blob names the variant and a plain x070 model of the same shape refuses it (and vice versa)', async () => {
  const plainFile = path.join(dir, 'plain-x070.safetensors');
  await native().writeRandomModel(plainFile, { layers: 2, embd: 32, headSize: 16, vocab: 64, ffn: 128 }, 3);
  const plain = await Model.load({ model: plainFile });
  try {
    assert.equal(plain.info.version, 'x070');
    assert.equal(plain.info.stateFloats, model.info.stateFloats);
    const state = model.newState();
    await model.forward(expected.tokens.slice(0, 9), state, 'none');
    const blob = model.stateToBuffer(state);
    assert.equal(readStateInfo(blob).version, 'x070-7a');
    assert.deepEqual(model.stateFromBuffer(blob).data, state.data);
    const mismatch = (e: unknown) =>
      e instanceof EngineError && e.code === 'E_STATE_MISMATCH' && /x070-7a/.test(e.message);
    assert.throws(() => plain.stateFromBuffer(blob), mismatch);
    assert.throws(() => model.stateFromBuffer(plain.stateToBuffer(plain.newState())), mismatch);
  } finally {
    plain.dispose();
  }
});

test('the CUDA backend refuses DeepEmbed with E_DEVICE; auto runs it on the CPU', async () => {
  await assert.rejects(
    Model.load({ model: `${stem}.pth`, device: 'cuda' }),
    (e: unknown) => e instanceof EngineError && e.code === 'E_DEVICE' && /DeepEmbed/.test(e.message),
  );
  const auto = await Model.load({ model: `${stem}.pth`, device: 'auto' });
  assert.equal(auto.info.device, 'cpu');
  auto.dispose();
});

test('RWKV-7b (DeepEmbed with attention) is refused with its version named', async () => {
  // A minimal safetensors file with the 7b marker (per-layer qkv projections) beside x070 keys.
  const tensors: Record<string, number[]> = { 'blocks.0.att.r_k': [1, 64], 'blocks.0.qkv.weight': [4, 4] };
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, 'rwkv7b.safetensors');
  writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(off)]));
  await assert.rejects(
    Model.load({ model: file }),
    (e: unknown) =>
      e instanceof EngineError &&
      e.code === 'E_MODEL_VERSION' &&
      /x070-7b/.test(e.message) &&
      /RWKV-7b/.test(e.message),
  );
});
