// The forward batcher on the tiny model: batched calls give bit-identical states and logits to one call per
// request, long requests go in slices and let short ones through, caps hold, a lone request still runs, and
// one request's failure leaves the others of its batch alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ForwardBatcher, type BatchModel } from '../../pipelines/forward-batcher.ts';
import { BatchSettingsSchema, type BatchSettings } from '../../schemas/config.ts';
import type { LogitsMode } from '../../schemas/engine.ts';
import { Engine, EngineError, type RnnState, type StreamInput } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';

let engine: Engine;
before(async () => {
  engine = await Engine.load({ model: tinyModel, threads: 1 });
});
after(() => engine.dispose());

/** The real model, with every batched call's shape recorded and an optional way to make a call fail. */
function watched(fail: (inputs: StreamInput[]) => EngineError | null = () => null) {
  const calls: { streams: number; tokens: number[]; logits: LogitsMode[] }[] = [];
  const model: BatchModel = {
    info: engine.model.info,
    forwardBatch: async (inputs) => {
      calls.push({
        streams: inputs.length,
        tokens: inputs.map((i) => i.tokens.length),
        logits: inputs.map((i) => i.logits ?? 'last'),
      });
      const err = fail(inputs);
      if (err) throw err;
      return engine.model.forwardBatch(inputs);
    },
  };
  return { model, calls };
}

const settings = (s: Partial<BatchSettings>): BatchSettings => BatchSettingsSchema.parse({ streams: 8, ...s });

function tokens(n: number, seed: number): Int32Array {
  const v = engine.model.info.vocabSize;
  return Int32Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + ((i * i) % 7)) % v);
}

/** A mix of document chunks (no logits, long), event pieces (all logits) and a generation step (last logits). */
async function mix(): Promise<{ tokens: Int32Array; logits: LogitsMode; state: () => RnnState }[]> {
  // One request continues from a state that has read something already, as a document's later chunk does.
  const warmed = engine.model.newState();
  await engine.model.forward(tokens(40, 99), warmed, 'none');
  return [
    { tokens: tokens(3000, 1), logits: 'none', state: () => engine.model.newState() },
    { tokens: tokens(700, 2), logits: 'none', state: () => engine.model.newState() },
    ...Array.from({ length: 6 }, (_, i) => ({
      tokens: tokens(5 + i * 9, 10 + i),
      logits: 'all' as const,
      state: () => engine.model.newState(),
    })),
    { tokens: tokens(600, 3), logits: 'all', state: () => engine.model.newState() },
    { tokens: tokens(300, 4), logits: 'last', state: () => warmed.clone() },
    { tokens: tokens(1, 5), logits: 'last', state: () => engine.model.newState() },
  ];
}

function sameBits(a: Float32Array | null, b: Float32Array | null, what: string): void {
  assert.ok(a !== null && b !== null ? a.length === b.length : a === b, `${what}: shape`);
  if (a && b)
    assert.ok(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
      `${what}: bits`,
    );
}

test('batched results are bit-identical to one call per request, on the CPU', async () => {
  const cases = await mix();
  const alone: { state: RnnState; logits: Float32Array | null }[] = [];
  for (const c of cases) {
    const state = c.state();
    const logits = await engine.model.forward(c.tokens, state, c.logits);
    alone.push({ state, logits });
  }
  const { model, calls } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 8, sliceTokens: 256, tokens: 2048, waitMs: 50 }));
  const states = cases.map((c) => c.state());
  const outs = await Promise.all(cases.map((c, i) => batcher.forward(c.tokens, states[i]!, c.logits)));
  outs.forEach((out, i) => {
    sameBits(out, alone[i]!.logits, `request ${i} logits`);
    sameBits(states[i]!.data, alone[i]!.state.data, `request ${i} state`);
    assert.equal(states[i]!.tokens, alone[i]!.state.tokens);
  });
  assert.ok(
    calls.some((c) => c.streams > 1),
    'requests shared forwards',
  );
  assert.ok(calls.length < cases.reduce((n, c) => n + Math.ceil(c.tokens.length / 256), 0), 'fewer calls than slices');
  assert.ok(
    calls.every((c) => c.streams <= 8 && c.tokens.every((n) => n <= 256)),
    'stream and slice caps',
  );
  assert.ok(
    calls.every((c) => c.tokens.reduce((a, b) => a + b, 0) <= 2048),
    'token cap',
  );
  assert.equal(batcher.waiting, 0);
});

test('a long request goes in slices and lets the short ones finish first', async () => {
  const { model, calls } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 4, sliceTokens: 128, waitMs: 1000 }));
  const finished: string[] = [];
  const long = batcher.forward(tokens(1024, 1), engine.model.newState(), 'none').then(() => finished.push('long'));
  const shorts = Array.from({ length: 3 }, (_, i) =>
    batcher.forward(tokens(20, i), engine.model.newState(), 'all').then(() => finished.push(`short${i}`)),
  );
  await Promise.all([long, ...shorts]);
  assert.deepEqual(finished, ['short0', 'short1', 'short2', 'long']);
  // The first batch was full (4 streams), so it ran without waiting out the 1000 ms; the long one went on alone.
  assert.deepEqual(calls[0], { streams: 4, tokens: [128, 20, 20, 20], logits: ['none', 'all', 'all', 'all'] });
  assert.equal(calls.length, 8);
  assert.ok(calls.slice(1).every((c) => c.streams === 1 && c.tokens[0] === 128));
});

test('a lone request runs when its wait ends; requests that arrive during a batch form the next one', async () => {
  const { model, calls } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 16, waitMs: 20 }));
  const first = batcher.forward(tokens(50, 1), engine.model.newState(), 'last');
  // Submitted while the first batch is waiting or running: they share a later batch, never the finished one.
  const later = first.then(() =>
    Promise.all([2, 3, 4].map((s) => batcher.forward(tokens(30, s), engine.model.newState(), 'last'))),
  );
  assert.equal((await first)!.length, engine.model.info.vocabSize);
  await later;
  assert.deepEqual(
    calls.map((c) => c.streams),
    [1, 3],
  );
});

test('logits are capped per batch: all-position requests are split to fit', async () => {
  const vocab = engine.model.info.vocabSize;
  const { model, calls } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 8, waitMs: 1000, logitsFloats: 100 * vocab }));
  const cases = [tokens(80, 1), tokens(80, 2), tokens(80, 3)];
  const states = cases.map(() => engine.model.newState());
  const outs = await Promise.all(cases.map((t, i) => batcher.forward(t, states[i]!, 'all')));
  for (const [i, t] of cases.entries()) {
    const state = engine.model.newState();
    sameBits(outs[i]!, await engine.model.forward(t, state, 'all'), `request ${i}`);
    sameBits(states[i]!.data, state.data, `state ${i}`);
  }
  assert.ok(calls.every((c) => c.tokens.reduce((a, b) => a + b, 0) <= 100));
});

test('a request with a token outside the vocabulary fails alone', async () => {
  const { model, calls } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 3, waitMs: 100 }));
  const bad = tokens(10, 1);
  bad[4] = engine.model.info.vocabSize + 3;
  const good = [tokens(30, 2), tokens(40, 3)];
  const states = good.map(() => engine.model.newState());
  const badState = engine.model.newState();
  const results = await Promise.allSettled([
    batcher.forward(good[0]!, states[0]!, 'last'),
    batcher.forward(bad, badState, 'last'),
    batcher.forward(good[1]!, states[1]!, 'last'),
  ]);
  assert.equal(results[1]!.status, 'rejected');
  assert.equal(((results[1] as PromiseRejectedResult).reason as EngineError).code, 'E_TOKEN');
  assert.equal(badState.tokens, 0);
  for (const i of [0, 1]) {
    const r = results[i === 0 ? 0 : 2]!;
    assert.equal(r.status, 'fulfilled');
    const state = engine.model.newState();
    sameBits(
      (r as PromiseFulfilledResult<Float32Array | null>).value,
      await engine.model.forward(good[i]!, state, 'last'),
      `good ${i}`,
    );
    sameBits(states[i]!.data, state.data, `good state ${i}`);
  }
  assert.ok(calls.every((c) => c.streams <= 2));
});

test('a batched call the engine refuses is retried request by request, so only the one at fault fails', async () => {
  const poisoned = engine.model.newState();
  const { model, calls } = watched((inputs) =>
    inputs.some((i) => i.state === poisoned) ? new EngineError('E_ARGUMENT', 'refused before computing') : null,
  );
  const batcher = new ForwardBatcher(model, settings({ streams: 3, waitMs: 1000 }));
  const states = [engine.model.newState(), engine.model.newState()];
  const results = await Promise.allSettled([
    batcher.forward(tokens(30, 1), states[0]!, 'none'),
    batcher.forward(tokens(30, 2), poisoned, 'none'),
    batcher.forward(tokens(30, 3), states[1]!, 'none'),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(
    calls.map((c) => c.streams),
    [3, 1, 1, 1],
  );
  for (const [i, seed] of [1, 3].entries()) {
    const state = engine.model.newState();
    await engine.model.forward(tokens(30, seed), state, 'none');
    sameBits(states[i]!.data, state.data, `state ${i}`);
  }
});

test('a batched call that fails while computing fails each of its requests (each retries from its checkpoint)', async () => {
  const { model } = watched(() => new EngineError('E_DEVICE', 'device fault'));
  const batcher = new ForwardBatcher(model, settings({ streams: 2, waitMs: 1000 }));
  const results = await Promise.allSettled(
    [1, 2].map((s) => batcher.forward(tokens(10, s), engine.model.newState(), 'none')),
  );
  assert.deepEqual(
    results.map((r) => r.status === 'rejected' && (r.reason as EngineError).code),
    ['E_DEVICE', 'E_DEVICE'],
  );
  assert.equal(batcher.waiting, 0);
});

test('a state already waiting in the batcher is refused a second time', async () => {
  const { model } = watched();
  const batcher = new ForwardBatcher(model, settings({ streams: 4, waitMs: 20 }));
  const state = engine.model.newState();
  const first = batcher.forward(tokens(10, 1), state, 'none');
  await assert.rejects(batcher.forward(tokens(10, 2), state, 'none'), (err: EngineError) => err.code === 'E_ARGUMENT');
  await first;
  assert.equal(state.tokens, 10);
});
