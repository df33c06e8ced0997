// Builds the native engine and the Node addon with CMake (run by `npm install` / `npm ci`).
// Node's headers are taken from the running Node installation and node-addon-api from node_modules, so the
// build never downloads anything. CUDA is compiled in when nvcc is found.
// By default only the addon (rwkv.node) is built: what a user needs. `--tests` (or RWKVSTREAM_NATIVE_TESTS=1)
// adds the C++ tests that CTest runs, `--bench` (or RWKVSTREAM_NATIVE_BENCH=1) adds rwkv_bench.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.RWKVSTREAM_NATIVE_BUILD_DIR ?? path.join(here, 'build');
const quiet = process.argv.includes('--quiet');
const require = createRequire(import.meta.url);

function nodeIncludeDir() {
  const candidates = [
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  ].filter(Boolean);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'node_api.h')));
  if (!found) {
    console.error(`rwkvstream: Node headers (node_api.h) not found in: ${candidates.join(', ')}.\n` +
      'Install the Node.js development headers (Debian: apt-get install libnode-dev, or use an official Node build).');
    process.exit(1);
  }
  return found;
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (result.error) {
    console.error(`rwkvstream: cannot run ${cmd}: ${result.error.message} (install cmake and a C++ compiler)`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const addonApiDir = require('node-addon-api').include_dir.replace(/^"|"$/g, '');
const configureArgs = [
  '-S', here, '-B', buildDir,
  '-DCMAKE_BUILD_TYPE=Release',
  `-DNODE_INCLUDE_DIR=${nodeIncludeDir()}`,
  `-DNODE_ADDON_API_DIR=${path.resolve(here, '..', addonApiDir)}`,
];
configureArgs.push(`-DRWKV_ENABLE_CUDA=${process.env.RWKVSTREAM_CUDA === '0' ? 'OFF' : 'ON'}`);
// RWKVSTREAM_CUDA_ARCHITECTURES narrows the GPU code (e.g. "90-real" for H100/H200 only);
// RWKVSTREAM_NATIVE_TARGETS names the targets exactly (e.g. "rwkv_addon rwkv_bench"), overriding the flags.
if (process.env.RWKVSTREAM_CUDA_ARCHITECTURES) configureArgs.push(`-DRWKV_CUDA_ARCHITECTURES=${process.env.RWKVSTREAM_CUDA_ARCHITECTURES}`);
const wanted = (flag, env) => process.argv.includes(flag) || process.env[env] === '1';
const named = (process.env.RWKVSTREAM_NATIVE_TARGETS ?? '').split(/\s+/).filter(Boolean);
const targets = named.length > 0 ? named : [
  'rwkv_addon',
  ...(wanted('--tests', 'RWKVSTREAM_NATIVE_TESTS') ? ['native_tests'] : []),
  ...(wanted('--bench', 'RWKVSTREAM_NATIVE_BENCH') ? ['rwkv_bench'] : []),
];
run('cmake', configureArgs);
run('cmake', ['--build', buildDir, ...targets.flatMap((t) => ['--target', t]), '--parallel', String(Math.max(1, os.availableParallelism()))]);
