// The engine reproduces the reference logits and states of every fixture model (fp32 compute, max |Δ| ≤ 1e-4),
// in sequence mode, one-token mode and cut into chunks with the state carried.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { Model, RnnState } from '../../engine/index.ts';
import { maxAbsDiff, referenceCases } from '../helpers/fixtures.ts';

const TOL = 1e-4;

for (const ref of referenceCases()) {
  for (const file of ref.models) {
    for (const weights of ['f32', 'bf16'] as const) {
      describe(`${ref.name} · ${file.split('/').pop()} · ${weights} weights`, async () => {
        const model = await Model.load({ model: file, weights });
        after(() => model.dispose());
        const T = ref.tokens.length;

        test('sequence mode: logits at every position and the final state', async () => {
          const state = model.newState();
          const logits = await model.forward(ref.tokens, state, 'all');
          assert.ok(logits);
          assert.equal(logits.length, T * ref.vocab);
          assert.ok(maxAbsDiff(logits, ref.logits) <= TOL, `logits max |Δ| ${maxAbsDiff(logits, ref.logits)}`);
          assert.ok(maxAbsDiff(state.data, ref.state) <= TOL, `state max |Δ| ${maxAbsDiff(state.data, ref.state)}`);
          assert.equal(state.tokens, T);
        });

        test('one-token mode gives the same logits and state', async () => {
          const state = model.newState();
          for (let t = 0; t < T; t++) {
            const logits = await model.forward([ref.tokens[t]!], state, 'last');
            const want = ref.logits.subarray(t * ref.vocab, (t + 1) * ref.vocab);
            assert.ok(maxAbsDiff(logits!, want) <= TOL, `position ${t}: max |Δ| ${maxAbsDiff(logits!, want)}`);
          }
          assert.ok(maxAbsDiff(state.data, ref.state) <= TOL);
        });

        test('cut into chunks at random points, state carried: same as uncut', async () => {
          for (let trial = 0; trial < 3; trial++) {
            const cuts = new Set<number>();
            while (cuts.size < Math.min(3, T - 1)) cuts.add(1 + Math.floor(Math.random() * (T - 1)));
            const bounds = [0, ...[...cuts].sort((a, b) => a - b), T];
            const state = model.newState();
            let last: Float32Array | null = null;
            for (let i = 0; i + 1 < bounds.length; i++) {
              last = await model.forward(ref.tokens.slice(bounds[i], bounds[i + 1]), state, 'last');
            }
            const want = ref.logits.subarray((T - 1) * ref.vocab);
            assert.ok(maxAbsDiff(last!, want) <= TOL, `cuts ${bounds}: logits max |Δ| ${maxAbsDiff(last!, want)}`);
            assert.ok(maxAbsDiff(state.data, ref.state) <= TOL, `cuts ${bounds}: state`);
          }
        });

        test('logits "none" returns nothing but still advances the state', async () => {
          const state = model.newState();
          assert.equal(await model.forward(ref.tokens, state, 'none'), null);
          assert.ok(maxAbsDiff(state.data, ref.state) <= TOL);
        });
      });
    }
  }
}

describe('batched forward', async () => {
  const refs = referenceCases().filter((r) => r.name.startsWith('tiny'));
  const model = await Model.load({ model: refs[0]!.models[0]! });
  after(() => model.dispose());

  test('several streams of different lengths in one call equal one-at-a-time runs', async () => {
    const streams = refs.map((r) => ({ tokens: r.tokens, state: model.newState(), logits: 'all' as const }));
    streams.push({ tokens: refs[1]!.tokens.slice(0, 5), state: model.newState(), logits: 'all' });
    const batched = await model.forwardBatch(streams);
    for (const [i, s] of streams.entries()) {
      const alone = new RnnState(new Float32Array(model.info.stateFloats));
      const want = await model.forward(s.tokens, alone, 'all');
      assert.ok(maxAbsDiff(batched[i]!, want!) <= 1e-5, `stream ${i}`);
      assert.ok(maxAbsDiff(s.state.data, alone.data) <= 1e-5, `stream ${i} state`);
    }
  });
});
