// State blobs: round trip exactly, carry the identity of model and tokenizer, and refuse corruption and
// states of another model.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { Engine, EngineError, Model, readStateInfo } from '../../engine/index.ts';
import { synthModel, tinyModel } from '../helpers/fixtures.ts';

const engine = await Engine.load({ model: tinyModel });
after(() => engine.dispose());

async function advancedState() {
  const state = engine.model.newState();
  await engine.model.forward(engine.tokenizer.encodeSync('The quick brown fox'), state, 'none');
  return state;
}

test('a state survives the blob round trip bit for bit, with its token count', async () => {
  const state = await advancedState();
  const blob = engine.stateToBuffer(state);
  assert.equal(blob.length, 128 + engine.model.info.stateFloats * 4);
  const back = engine.stateFromBuffer(blob);
  assert.deepEqual(Buffer.from(back.data.buffer), Buffer.from(state.data.buffer));
  assert.equal(back.tokens, 19);
  const info = readStateInfo(blob);
  assert.equal(info.modelFingerprint, engine.model.info.fingerprint);
  assert.equal(info.tokenizerFingerprint, engine.tokenizer.info.fingerprint);
  assert.equal(info.version, 'x070');
  assert.equal(info.nLayer, 12);
});

test('continuing from a restored state equals continuing the original', async () => {
  const state = await advancedState();
  const restored = engine.stateFromBuffer(engine.stateToBuffer(state));
  const a = await engine.model.forward([32, 106, 117], state, 'last');
  const b = await engine.model.forward([32, 106, 117], restored, 'last');
  assert.deepEqual(a, b);
});

test('any flipped byte is caught by the checksum', async () => {
  const blob = engine.stateToBuffer(await advancedState());
  for (const at of [0, 20, 100, 128, 5000, blob.length - 1]) {
    const bad = Buffer.from(blob);
    bad[at]! ^= 0x40;
    assert.throws(
      () => engine.stateFromBuffer(bad),
      (e: unknown) => e instanceof EngineError && e.code === 'E_STATE',
    );
  }
  assert.throws(
    () => engine.stateFromBuffer(blob.subarray(0, blob.length - 4)),
    (e: unknown) => e instanceof EngineError && e.code === 'E_STATE',
  );
  assert.throws(() => engine.stateFromBuffer(Buffer.from('not a state')), /RWKVSTAT|header/);
});

test('a state from another model is refused naming what differs', async () => {
  const other = await Model.load({ model: synthModel });
  try {
    const blob = other.stateToBuffer(other.newState());
    assert.throws(
      () => engine.stateFromBuffer(blob),
      (e: unknown) => e instanceof EngineError && e.code === 'E_STATE_MISMATCH' && /fingerprint/.test(e.message),
    );
  } finally {
    other.dispose();
  }
});

test('a state written without the tokenizer identity is refused by an engine bound to a tokenizer', async () => {
  const blob = engine.model.stateToBuffer(await advancedState());
  assert.throws(
    () => engine.stateFromBuffer(blob),
    (e: unknown) => e instanceof EngineError && e.code === 'E_STATE_MISMATCH' && /tokenizer/.test(e.message),
  );
});
