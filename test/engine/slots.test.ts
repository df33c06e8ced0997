// The resident state slot contract on the CPU backend (host-resident slots; the CUDA backend keeps the same
// contract with the states in GPU memory): forward on a slot gives bit-identical logits and states to
// forward on a host state, alone and batched; a released slot is refused and its id reused with the
// initial state; a slot of another model, a slot used twice in one call and a slot changed during a call
// are refused with E_SLOT; and summarize(), which generates on a resident state, produces exactly what the
// same loop on host states produces.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Sampler } from '../../pipelines/tasks/sampling.ts';
import { END_OF_TEXT, summarize } from '../../pipelines/tasks/summarize.ts';
import { SummarizeTaskSchema } from '../../schemas/tasks.ts';
import { Engine, EngineError, Model, RnnState } from '../../engine/index.ts';
import { native, type NativeModel } from '../../engine/native.ts';
import { tinyModel } from '../helpers/fixtures.ts';

let model: Model;
let other: Model;

before(async () => {
  model = await Model.load({ model: tinyModel, threads: 1 });
  other = await Model.load({ model: tinyModel, threads: 1 });
});
after(() => {
  model.dispose();
  other.dispose();
});

function randomTokens(n: number, seed: number, vocab: number): Int32Array {
  let x = seed >>> 0 || 1;
  return Int32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % vocab;
  });
}

const bytesOf = (a: Float32Array | null) => (a === null ? null : Buffer.from(a.buffer, a.byteOffset, a.byteLength));
function assertSameFloats(a: Float32Array | null, b: Float32Array | null, what: string) {
  assert.ok(a !== null && b !== null, `${what}: missing`);
  assert.equal(Buffer.compare(bytesOf(a)!, bytesOf(b)!), 0, `${what}: not bit-identical`);
}

const rejectsWith = (code: string) => (err: unknown) => err instanceof EngineError && err.code === code;
const throwsCode = (code: string) => (err: unknown) => (err as { code?: string }).code === code;

test('forward on a resident state is bit-identical to forward on a host state, call after call', async () => {
  const vocab = model.info.vocabSize;
  // A state that is not the initial one, so writing it into the slot is part of what is compared.
  const start = model.newState();
  await model.forward(randomTokens(37, 1, vocab), start, 'none');
  const host = start.clone();
  const resident = model.resident(start);
  try {
    const calls: [Int32Array, 'none' | 'last' | 'all'][] = [
      [randomTokens(64, 2, vocab), 'all'],
      [randomTokens(1, 3, vocab), 'last'],
      [randomTokens(200, 4, vocab), 'none'],
      ...Array.from({ length: 8 }, (_, i): [Int32Array, 'last'] => [randomTokens(1, 10 + i, vocab), 'last']),
    ];
    for (const [i, [tokens, logits]] of calls.entries()) {
      const expected = await model.forward(tokens, host, logits);
      const [got] = await model.forwardResident([{ tokens, state: resident, logits }]);
      if (logits === 'none') assert.equal(got, null);
      else assertSameFloats(got ?? null, expected, `call ${i} logits`);
    }
    const back = resident.toState();
    assertSameFloats(back.data, host.data, 'state');
    assert.equal(back.tokens, host.tokens);
  } finally {
    resident.release();
  }
});

test('batched resident states give the batched host results', async () => {
  const vocab = model.info.vocabSize;
  const hosts = [model.newState(), model.newState(), model.newState()];
  const residents = hosts.map((s) => model.resident(s));
  try {
    for (let round = 0; round < 3; round++) {
      const tokens = hosts.map((_, i) => randomTokens(round === 0 ? 20 + 7 * i : 1, 100 * round + i, vocab));
      const expected = await model.forwardBatch(
        hosts.map((state, i) => ({ tokens: tokens[i]!, state, logits: 'last' as const })),
      );
      const got = await model.forwardResident(
        residents.map((state, i) => ({ tokens: tokens[i]!, state, logits: 'last' as const })),
      );
      got.forEach((g, i) => assertSameFloats(g, expected[i]!, `round ${round} stream ${i}`));
    }
    residents.forEach((r, i) => assertSameFloats(r.toState().data, hosts[i]!.data, `state ${i}`));
  } finally {
    for (const r of residents) r.release();
  }
});

test('write and read are exact; a released state is refused; its slot comes back with the initial state', async () => {
  const state = new RnnState(
    Float32Array.from({ length: model.info.stateFloats }, (_, i) => Math.sin(i) * 1e-3),
    5,
  );
  const resident = model.resident(state);
  assertSameFloats(resident.toState().data, state.data, 'read after acquire');
  const other = new RnnState(
    state.data.map((v) => -v),
    9,
  );
  resident.write(other);
  assertSameFloats(resident.toState().data, other.data, 'read after write');
  assert.equal(resident.tokens, 9);
  resident.release();
  assert.throws(() => resident.toState(), rejectsWith('E_SLOT'));
  assert.throws(() => resident.release(), rejectsWith('E_SLOT'));
  await assert.rejects(model.forwardResident([{ tokens: [1], state: resident }]), rejectsWith('E_SLOT'));

  // At the addon: the freed id is handed out again, holding the initial state; unknown ids are refused.
  const raw: NativeModel = await native().loadModel(tinyModel, { weights: 'f32', threads: 1, device: 'cpu' });
  try {
    assert.equal(raw.slotsOnDevice(), false);
    const a = raw.acquireSlot(state.data);
    raw.releaseSlot(a);
    const b = raw.acquireSlot();
    assert.equal(b, a);
    assertSameFloats(raw.readSlot(b), raw.initialState(), 'a reused slot starts from the initial state');
    assert.throws(() => raw.readSlot(b + 1), throwsCode('E_SLOT'));
    assert.throws(() => raw.releaseSlot(-1), throwsCode('E_SLOT'));
    assert.throws(() => raw.writeSlot(b, new Float32Array(3)), throwsCode('E_ARGUMENT'));
    await assert.rejects(
      raw.forwardSlots([
        { tokens: Int32Array.of(1), slot: b, logits: 'none' },
        { tokens: Int32Array.of(2), slot: b, logits: 'none' },
      ]),
      throwsCode('E_SLOT'),
    );
    await assert.rejects(
      raw.forwardSlots([{ tokens: Int32Array.of(100_000), slot: b, logits: 'none' }]),
      throwsCode('E_TOKEN'),
    );
    raw.releaseSlot(b);
    await assert.rejects(
      raw.forwardSlots([{ tokens: Int32Array.of(1), slot: b, logits: 'none' }]),
      throwsCode('E_SLOT'),
    );
  } finally {
    raw.dispose();
  }
});

test('a resident state of another model, the same state twice in a call, and a change during a call are refused', async () => {
  const mine = model.resident(model.newState());
  try {
    await assert.rejects(other.forwardResident([{ tokens: [1], state: mine }]), rejectsWith('E_SLOT'));
    await assert.rejects(
      model.forwardResident([
        { tokens: [1], state: mine },
        { tokens: [2], state: mine },
      ]),
      rejectsWith('E_SLOT'),
    );
    const call = model.forwardResident([
      { tokens: randomTokens(500, 5, model.info.vocabSize), state: mine, logits: 'none' },
    ]);
    assert.throws(() => mine.toState(), rejectsWith('E_SLOT'));
    assert.throws(() => mine.release(), rejectsWith('E_SLOT'));
    await call;
    assert.equal(mine.tokens, 500);
  } finally {
    mine.release();
  }
});

/** The generation loop on host states, as it ran before states became resident. */
async function hostGeneration(engine: Engine, state: RnnState, maxTokens: number): Promise<number[]> {
  const task = SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens, stop: [] });
  const sampler = new Sampler(task, (t) => engine.tokenizer.decode([t]));
  let logits = await engine.model.forward(engine.tokenizer.encodeSync(task.template), state, 'last');
  const out: number[] = [];
  while (out.length < maxTokens && logits) {
    const token = sampler.pick(logits);
    out.push(token);
    if (token === END_OF_TEXT) break;
    sampler.accept(token);
    if (out.length < maxTokens) logits = await engine.model.forward([token], state, 'last');
  }
  return out;
}

test('summarize() on a resident state generates exactly what the host-state loop generates, and leaves the same state', async () => {
  const engine = await Engine.load({ model: tinyModel, vocab: 'bytes', threads: 1 });
  try {
    const prompt = engine.model.newState();
    await engine.model.forward(
      engine.tokenizer.encodeSync('The river rose overnight and the market moved uphill.'),
      prompt,
      'none',
    );
    const viaHost = prompt.clone();
    const tokens = await hostGeneration(engine, viaHost, 24);
    const viaSlot = prompt.clone();
    const out = await summarize(
      engine,
      viaSlot,
      SummarizeTaskSchema.parse({ kind: 'summarize', maxTokens: 24, stop: [] }),
    );
    assert.equal(out.generatedTokens, tokens.length);
    assert.equal(out.text, engine.tokenizer.decodeBytes(tokens.filter((t) => t !== END_OF_TEXT)).toString('utf8'));
    assertSameFloats(viaSlot.data, viaHost.data, 'state after generation');
  } finally {
    engine.dispose();
  }
});
