// The native libraries follow their folders (native/CMakeLists.txt): each folder under native/src is one
// library, and a source may include headers only from its own folder, the libraries it links and the public
// API (native/include). CMake checks the link graph for cycles at configure time; this test checks that the
// includes keep to the same graph, so a header cannot reach up a layer unnoticed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

const srcDir = path.join(repoRoot, 'native', 'src');

// What each library may include besides itself and rwkv/ (the link graph of native/CMakeLists.txt).
const allowed: Record<string, readonly string[]> = {
  util: [],
  io: ['util'],
  tokenizer: ['util'],
  model: ['io', 'util'],
  cpu: ['model', 'io', 'util'],
  cuda: ['model', 'io', 'util'],
  backend: ['model', 'cpu', 'cuda', 'io', 'util'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : /\.(cc|h|cu|cuh)$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

test('every folder under native/src is a known library', () => {
  const folders = readdirSync(srcDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.deepEqual(folders, Object.keys(allowed).sort());
});

test('native sources include only their own library, the libraries it links, and the public API', () => {
  const wrong: string[] = [];
  for (const file of sources(srcDir)) {
    const lib = path.relative(srcDir, file).split(path.sep)[0] ?? '';
    const ok = new Set([lib, 'rwkv', ...(allowed[lib] ?? [])]);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*#\s*include\s+"([^"/]+)\/[^"]+"/gm)) {
      const folder = m[1] ?? '';
      if (!ok.has(folder)) wrong.push(`${path.relative(repoRoot, file)} includes ${folder}/`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('RWKV_WITH_CUDA is known only to the dispatcher', () => {
  const users = sources(srcDir)
    .filter((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .some((l) => /^\s*#\s*if.*RWKV_WITH_CUDA/.test(l)),
    )
    .map((f) => path.relative(srcDir, f).split(path.sep)[0]);
  assert.deepEqual([...new Set(users)], ['backend']);
});
