// The C++ tests of the engine core (model files, tokenizers, kernels, state blobs), run through CTest so
// their results land in this runner's summary. `npm install` builds only the addon, so the test targets are
// built here first: in the existing native/build with the configuration it already has (with or without
// CUDA), or through native/build.mjs --tests when there is none yet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot, sharedDir } from '../helpers/paths.ts';

const buildDir = path.join(repoRoot, 'native', 'build');

function buildTests(): void {
  const parallel = String(Math.max(1, os.availableParallelism()));
  const [cmd, args] = existsSync(path.join(buildDir, 'CMakeCache.txt'))
    ? ['cmake', ['--build', buildDir, '--target', 'native_tests', '--parallel', parallel]]
    : [process.execPath, [path.join(repoRoot, 'native', 'build.mjs'), '--tests', '--quiet']];
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `building the C++ tests failed:\n${result.stdout}\n${result.stderr}`);
}

test('native C++ test suite (ctest)', { timeout: 20 * 60_000 }, () => {
  buildTests();
  const result = spawnSync('ctest', ['--test-dir', buildDir, '--output-on-failure'], {
    encoding: 'utf8',
    env: { ...process.env, RWKV_SHARED_DIR: sharedDir },
  });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /100% tests passed/);
});
