// `random-model` writes a loadable safetensors model of the requested shape, the same for the same seed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { Model } from '../../engine/index.ts';
import { cliEntry } from '../helpers/paths.ts';

const run = promisify(execFile);

test('a random model of the 0.1B width loads with the requested dimensions, deterministically per seed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rwkvstream-random-'));
  const files = ['a', 'b', 'c'].map((n) => path.join(dir, `${n}.safetensors`));
  const args = ['random-model', '--shape', '0.1b', '--layers', '2', '--vocab', '512'];
  await run(process.execPath, [cliEntry, ...args, '--out', files[0]!]);
  await run(process.execPath, [cliEntry, ...args, '--out', files[1]!]);
  await run(process.execPath, [cliEntry, ...args, '--seed', '2', '--out', files[2]!]);
  assert.deepEqual(readFileSync(files[0]!), readFileSync(files[1]!));
  assert.notDeepEqual(readFileSync(files[0]!), readFileSync(files[2]!));

  const model = await Model.load({ model: files[0]! });
  try {
    assert.equal(model.info.format, 'safetensors');
    assert.equal(model.info.nLayer, 2);
    assert.equal(model.info.nEmbd, 768);
    assert.equal(model.info.vocabSize, 512);
    assert.deepEqual(model.info.ranks[1], { w: 64, a: 64, v: 32, g: 128 });
    const logits = await model.forward([1, 2, 3, 4], model.newState(), 'last');
    assert.ok(logits!.every(Number.isFinite));
  } finally {
    model.dispose();
  }
});
