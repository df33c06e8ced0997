// The C++ tests of the engine core (model files, tokenizers, kernels, state blobs), run through CTest so
// their results land in this runner's summary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot, sharedDir } from '../helpers/paths.ts';

const buildDir = path.join(repoRoot, 'native', 'build');

test('native C++ test suite (ctest)', { timeout: 20 * 60_000 }, () => {
  assert.ok(existsSync(path.join(buildDir, 'CTestTestfile.cmake')), 'native/build is missing: run npm run build:native');
  const result = spawnSync('ctest', ['--test-dir', buildDir, '--output-on-failure'], {
    encoding: 'utf8',
    env: { ...process.env, RWKV_SHARED_DIR: sharedDir },
  });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /100% tests passed/);
});
