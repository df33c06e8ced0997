// int8 weights through the addon and the CLI: close to fp32 on the fixture models (bounds from measurement, as
// in native/test/test_engine_int8.cc), the same bits token by token and on every run, `--weights
// int8` and RWKVSTREAM_WEIGHTS=int8 give the same summary twice, and a named GPU refuses int8 with a code.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { EngineError, Model } from '../../engine/index.ts';
import { cli, isolatedEnv, tempDir } from '../embedded/helpers.ts';
import { referenceCases, tinyModel } from '../helpers/fixtures.ts';

// README "int8 weights": on these trained fixtures the mean relative error of the logits is below 0.01 and
// the argmax agrees everywhere; the synthetic one (random weights, flat logits) reaches 0.04 and 0.9.
const MEAN_REL = 0.06;
const TOP1 = 0.85;

function relativeError(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

for (const ref of referenceCases()) {
  const file = ref.models[0]!;
  describe(`${ref.name} · ${file.split('/').pop()} · int8 weights`, async () => {
    const [q, f32] = await Promise.all([
      Model.load({ model: file, weights: 'int8' }),
      Model.load({ model: file, weights: 'f32' }),
    ]);
    after(() => {
      q.dispose();
      f32.dispose();
    });
    const T = ref.tokens.length;

    test('logits near fp32 weights: mean relative error and top-1 agreement bounded', async () => {
      const got = (await q.forward(ref.tokens, q.newState(), 'all'))!;
      const want = (await f32.forward(ref.tokens, f32.newState(), 'all'))!;
      let mean = 0;
      let agree = 0;
      for (let t = 0; t < T; t++) {
        const g = got.subarray(t * ref.vocab, (t + 1) * ref.vocab);
        const w = want.subarray(t * ref.vocab, (t + 1) * ref.vocab);
        mean += relativeError(g, w) / T;
        agree += argmax(g) === argmax(w) ? 1 : 0;
      }
      assert.ok(mean <= MEAN_REL, `mean relative error ${mean}`);
      assert.ok(agree / T >= TOP1, `top-1 agreement ${agree / T}`);
    });

    test('the same bits on a second load and token by token', async () => {
      const whole = (await q.forward(ref.tokens, q.newState(), 'all'))!;
      const again = await Model.load({ model: file, weights: 'int8' });
      try {
        assert.ok(sameBits(whole, (await again.forward(ref.tokens, again.newState(), 'all'))!));
      } finally {
        again.dispose();
      }
      const state = q.newState();
      for (let t = 0; t < T; t++) {
        const logits = (await q.forward([ref.tokens[t]!], state, 'last'))!;
        assert.ok(sameBits(logits, whole.subarray(t * ref.vocab, (t + 1) * ref.vocab)), `position ${t}`);
      }
    });
  });
}

test('a named GPU refuses int8 weights with E_DEVICE, with or without CUDA in the build', async () => {
  for (const device of ['cuda'] as const) {
    const err = await Model.load({ model: tinyModel, weights: 'int8', device }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.code, 'E_DEVICE');
    assert.match(err.message, /int8/);
  }
});

test('summarize with --weights int8, or RWKVSTREAM_WEIGHTS=int8, gives the same result every run', async () => {
  const env = isolatedEnv(tempDir('home'));
  const text = Array.from(
    { length: 30 },
    (_, i) => `Line ${i}: the tide came in at ${i % 5} o'clock and went out again.\n`,
  ).join('');
  const args = [
    'summarize',
    '-',
    '--id',
    'tide.txt',
    '--model',
    tinyModel,
    '--chunk-tokens',
    '64',
    '--max-tokens',
    '24',
    '--json',
    '--quiet',
  ];
  const runs = await Promise.all([
    cli([...args, '--weights', 'int8', '--checkpoint-dir', tempDir('ckpt')], { env, stdin: text }),
    cli([...args, '--weights', 'int8', '--checkpoint-dir', tempDir('ckpt')], { env, stdin: text }),
    cli([...args, '--checkpoint-dir', tempDir('ckpt')], { env: { ...env, RWKVSTREAM_WEIGHTS: 'int8' }, stdin: text }),
  ]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.equal(runs[1]!.stdout, runs[0]!.stdout);
  assert.equal(runs[2]!.stdout, runs[0]!.stdout);
  const bad = await cli([...args, '--weights', 'int4', '--checkpoint-dir', tempDir('ckpt')], { env, stdin: text });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /int8/);
});
