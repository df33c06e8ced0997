// Wrong model files and mismatched tokenizers are refused with a code and a message that says what was
// expected — never a crash.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { Engine, EngineError, Model } from '../../engine/index.ts';
import { tinyModel } from '../helpers/fixtures.ts';
import { fixture, worldVocab } from '../helpers/paths.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-refusals-'));

async function refused(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<EngineError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (pattern) assert.match(err.message, pattern);
  return err;
}

test('a file of tensors that are no RWKV model is refused naming what is missing', async () => {
  // A real torch-written checkpoint whose keys are a toy layout, not RWKV blocks.
  const err = await refused(
    Model.load({ model: fixture('pth-container', '251016_rosa_1bit_run.pth') }),
    'E_MODEL_VERSION',
    /blocks/,
  );
  assert.equal(err.retriable, false);
});

test('a truncated model file is refused', async () => {
  const bytes = readFileSync(tinyModel);
  for (const cut of [10, 1000, Math.floor(bytes.length / 2), bytes.length - 10]) {
    const file = path.join(dir, `truncated-${cut}.pth`);
    writeFileSync(file, bytes.subarray(0, cut));
    const err = await Model.load({ model: file }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof EngineError, `cut at ${cut}: ${String(err)}`);
    assert.match(err.code, /^E_MODEL_(TRUNCATED|FORMAT)$/, `cut at ${cut}: ${err.code}`);
  }
});

test('a file that is no model container is refused', async () => {
  const file = path.join(dir, 'garbage.pth');
  writeFileSync(file, Buffer.from('this is not a model, just some text that is long enough to be read'));
  await refused(Model.load({ model: file }), 'E_MODEL_FORMAT');
});

test('a missing file is refused with E_IO', async () => {
  await refused(Model.load({ model: path.join(dir, 'nope.pth') }), 'E_IO', /nope\.pth/);
});

test('a legacy (pre-zip) torch pickle is refused', async () => {
  const file = path.join(dir, 'legacy.pth');
  // torch's legacy format starts with a pickled magic number (protocol 2, LONG1 0x1950a86a20f9469cfc6c).
  writeFileSync(
    file,
    Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
  );
  await refused(Model.load({ model: file }), 'E_MODEL_LEGACY_PICKLE');
});

test('the World tokenizer is refused for a byte-level model', async () => {
  await refused(Engine.load({ model: tinyModel, vocab: worldVocab }), 'E_TOKENIZER_MISMATCH', /65530.*256|256.*65530/);
});

test('a World-vocabulary model without a tokenizer says how to supply one', async () => {
  await refused(
    Engine.load({ model: fixture('rwkv7', 'synth-rwkv7-L3-D256-H4-fp32.pth') }),
    'E_TOKENIZER_MISMATCH',
    /--vocab/,
  );
});

test('token ids outside the vocabulary are refused', async () => {
  const model = await Model.load({ model: tinyModel });
  try {
    await refused(model.forward([1, 256], model.newState()), 'E_TOKEN', /256/);
    await refused(model.forward([-1], model.newState()), 'E_TOKEN');
  } finally {
    model.dispose();
  }
});
