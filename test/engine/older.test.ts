// RWKV-4, RWKV-5 and RWKV-6 through the TypeScript API: the random fixtures' official logits and states
// (fixtures/older) in sequence mode, one-token mode and chunks; rwkv.cpp's tiny .bin models against their
// expected logits; the official initial state per version; state blobs that record the version and are
// refused by a model of another version; and state-tuning files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Engine, EngineError, Model, RnnState } from '../../engine/index.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { fixture } from '../helpers/paths.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-older-'));

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

// fp32 compute. The official outputs of these bf16 files include the official package's bf16 LayerNorm of
// ln0(emb), which the engine reproduces for bf16 embeddings (native/test/test_engine_older.cc also holds an
// fp32 copy of the weights to the exact-ln0 outputs).
const FIXTURE_TOL = 1e-4;

const RANDOM = [
  { stem: 'random-v4-L2-C128', version: 'v4', nHead: 0, stateFloats: 2 * 5 * 128 },
  { stem: 'random-v5.2-L2-C128', version: 'x052', nHead: 2, stateFloats: 2 * (2 * 128 + 2 * 64 * 64) },
  { stem: 'random-v6-L2-C128', version: 'x060', nHead: 2, stateFloats: 2 * (2 * 128 + 2 * 64 * 64) },
] as const;

for (const rc of RANDOM) {
  describe(`${rc.stem} (official rwkv package outputs)`, async () => {
    const expected = JSON.parse(readFileSync(fixture('older', `${rc.stem}.expected.json`), 'utf8')) as {
      tokens: number[];
      logits: number[];
    };
    const wantState = readF32(fixture('older', `${rc.stem}.expected.state.f32`));
    const model = await Model.load({ model: fixture('older', `${rc.stem}.pth`), threads: 2 });
    after(() => model.dispose());

    test('info names the version and the state size of its layout', () => {
      assert.equal(model.info.version, rc.version);
      assert.equal(model.info.nHead, rc.nHead);
      assert.equal(model.info.stateFloats, rc.stateFloats);
      assert.equal(wantState.length, rc.stateFloats);
    });

    test('sequence mode, one-token mode and chunks give the official logits and state', async () => {
      const seq = model.newState();
      const seqLogits = (await model.forward(expected.tokens, seq, 'last'))!;
      assert.ok(
        maxAbsDiff(seqLogits, expected.logits) <= FIXTURE_TOL,
        `logits max |Δ| ${maxAbsDiff(seqLogits, expected.logits)}`,
      );
      assert.ok(maxAbsDiff(seq.data, wantState) <= FIXTURE_TOL, `state max |Δ| ${maxAbsDiff(seq.data, wantState)}`);

      const one = model.newState();
      let last: Float32Array | null = null;
      for (const t of expected.tokens) last = await model.forward([t], one, 'last');
      assert.ok(maxAbsDiff(last!, seqLogits) <= 1e-5);
      assert.ok(maxAbsDiff(one.data, seq.data) <= 1e-5);
      assert.ok(
        maxAbsDiff(last!, expected.logits) <= FIXTURE_TOL,
        `one-token logits max |Δ| ${maxAbsDiff(last!, expected.logits)}`,
      );

      const chunked = model.newState();
      for (const [a, b] of [
        [0, 5],
        [5, 22],
        [22, 23],
        [23, 64],
      ] as const)
        last = await model.forward(expected.tokens.slice(a, b), chunked, 'last');
      assert.ok(maxAbsDiff(last!, seqLogits) <= 1e-5);
      assert.ok(maxAbsDiff(chunked.data, seq.data) <= 1e-5);
      assert.equal(chunked.tokens, 64);
    });

    test('a state blob records the version and round-trips', async () => {
      const state = model.newState();
      await model.forward(expected.tokens.slice(0, 10), state, 'none');
      const back = model.stateFromBuffer(model.stateToBuffer(state));
      assert.deepEqual(back.data, state.data);
      assert.equal(back.tokens, 10);
    });
  });
}

test('the initial state is the official one of each version (v4: pp = -1e30)', async () => {
  const v4 = await Model.load({ model: fixture('older', 'random-v4-L2-C128.pth') });
  const s = v4.newState().data;
  for (let l = 0; l < 2; l++)
    for (let i = 0; i < 5 * 128; i++)
      assert.equal(s[l * 640 + i], Math.floor(i / 128) === 3 ? Math.fround(-1e30) : 0, `v4 state[${l * 640 + i}]`);
  v4.dispose();
  const v6 = await Model.load({ model: fixture('older', 'random-v6-L2-C128.pth') });
  assert.ok(v6.newState().data.every((x) => x === 0));
  v6.dispose();
});

test('a state is never accepted by a model of another version', async () => {
  const v6 = await Model.load({ model: fixture('older', 'random-v6-L2-C128.pth') });
  const v52 = await Model.load({ model: fixture('older', 'random-v5.2-L2-C128.pth') });
  try {
    // Same dimensions and state size: only the version tells them apart.
    assert.equal(v6.info.stateFloats, v52.info.stateFloats);
    const blob = v6.stateToBuffer(v6.newState());
    assert.throws(
      () => v52.stateFromBuffer(blob),
      (e: unknown) =>
        e instanceof EngineError && e.code === 'E_STATE_MISMATCH' && /x060/.test(e.message) && /x052/.test(e.message),
    );
  } finally {
    v6.dispose();
    v52.dispose();
  }
});

for (const [file, expectedFile, version, tol] of [
  ['tiny-rwkv-4v0-660K-FP32.bin', 'expected-logits-4v0-660K.bin', 'v4', 1e-4],
  ['tiny-rwkv-4v0-660K-FP16.bin', 'expected-logits-4v0-660K.bin', 'v4', 1e-2],
  ['tiny-rwkv-5v1-730K-FP32.bin', 'expected-logits-5v1-730K.bin', 'x050', 1e-4],
  ['tiny-rwkv-5v2-730K-FP32.bin', 'expected-logits-5v2-730K.bin', 'x052', 1e-4],
  ['tiny-rwkv-5v2-730K-FP16.bin', 'expected-logits-5v2-730K.bin', 'x052', 1e-2],
] as const) {
  test(`rwkv.cpp ${file} gives its expected logits for "in fed one byte at a time`, async () => {
    const engine = await Engine.load({ model: fixture('older', file), threads: 1 });
    try {
      assert.equal(engine.model.info.version, version);
      assert.equal(engine.model.info.format, 'ggml');
      assert.equal(engine.tokenizer.info.kind, 'bytes');
      const state = engine.model.newState();
      let logits: Float32Array | null = null;
      for (const t of engine.tokenizer.encodeSync('"in')) logits = await engine.model.forward([t], state, 'last');
      const want = readF32(fixture('older', expectedFile));
      assert.ok(maxAbsDiff(logits!, want) <= tol, `max |Δ| ${maxAbsDiff(logits!, want)}`);
    } finally {
      engine.dispose();
    }
  });
}

/** A safetensors file of f32 tensors. */
function writeSafetensors(file: string, tensors: Record<string, { shape: number[]; data: Float32Array }>): void {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, ...Object.values(tensors).map((t) => Buffer.from(t.data.buffer))]));
}

test('a state-tuning file starts a document from its state, transposed to [head][key][value]', async () => {
  const file = fixture('older', 'random-v6-L2-C128.pth');
  const model = await Model.load({ model: file });
  const H = 2,
    N = 64,
    C = 128,
    perLayer = 2 * C + H * N * N;
  const timeState = [0, 1].map((l) => Float32Array.from({ length: H * N * N }, (_, i) => Math.sin(i * 0.37 + l) * 0.8));
  const tuning = path.join(dir, 'tuned.safetensors');
  writeSafetensors(
    tuning,
    Object.fromEntries(timeState.map((d, l) => [`blocks.${l}.att.time_state`, { shape: [H, N, N], data: d }])),
  );

  const tuned = await model.stateFromTuningFile(tuning);
  const byHand = new Float32Array(model.info.stateFloats);
  for (let l = 0; l < 2; l++)
    for (let h = 0; h < H; h++)
      for (let k = 0; k < N; k++)
        for (let v = 0; v < N; v++)
          byHand[l * perLayer + C + (h * N + k) * N + v] = timeState[l]![(h * N + v) * N + k]!;
  assert.deepEqual(tuned.data, byHand, 'tuned state');

  const fromTuned = (await model.forward([7], tuned, 'last'))!;
  const fromHand = (await model.forward([7], new RnnState(byHand.slice()), 'last'))!;
  const fromZero = (await model.forward([7], model.newState(), 'last'))!;
  assert.deepEqual(fromTuned, fromHand);
  assert.ok(maxAbsDiff(fromTuned, fromZero) > 0.1, 'the tuned state changes the first logits');
  model.dispose();

  // Through the engine: every new state starts from the tuned one.
  const v6Bytes = path.join(dir, 'v6-bytes.safetensors');
  const { writeRandomOlderModel } = await import('../helpers/random-older.ts');
  writeRandomOlderModel(v6Bytes, { version: 'x060', embd: 128, headSize: 64, layers: 2 });
  const engine = await Engine.load({ model: v6Bytes, initialState: tuning });
  assert.deepEqual(engine.model.newState().data, byHand, 'engine initial state');
  engine.dispose();

  const v4 = await Model.load({ model: fixture('older', 'random-v4-L2-C128.pth') });
  await assert.rejects(
    v4.stateFromTuningFile(tuning),
    (e: unknown) => e instanceof EngineError && e.code === 'E_STATE_MISMATCH',
  );
  v4.dispose();
});
