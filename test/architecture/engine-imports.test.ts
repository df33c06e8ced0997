// The engine is the bottom layer above schemas/: every file under engine/ imports only engine/, schemas/,
// node: builtins and npm packages, and reads no environment (the services layer chooses files and settings).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

const engineDir = path.join(repoRoot, 'engine');
const allowed = [engineDir, path.join(repoRoot, 'schemas')];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(path.join(dir, e.name))
      : /\.(ts|mts|js|mjs)$/.test(e.name)
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** Every module specifier: static imports and re-exports, dynamic import(), require(). */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const re of [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]) {
    for (const m of text.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

/** What is wrong with one file of engine/, if anything. */
export function violations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const spec of specifiers(text)) {
    if (!spec.startsWith('.') && !spec.startsWith('/')) continue; // node: builtins and npm packages
    const target = path.resolve(path.dirname(file), spec);
    if (!allowed.some((dir) => target === dir || target.startsWith(dir + path.sep))) {
      out.push(`${path.relative(repoRoot, file)} imports ${spec}`);
    }
  }
  if (/process\.env/.test(text)) out.push(`${path.relative(repoRoot, file)} mentions process.env`);
  return out;
}

test('engine/ imports only engine/, schemas/, node: builtins and packages, and reads no environment', () => {
  const files = sources(engineDir);
  assert.ok(files.length > 5, 'engine/ has its sources');
  assert.deepEqual(
    files.flatMap((f) => violations(f, readFileSync(f, 'utf8'))),
    [],
  );
});

test('the check itself catches an import from services/ and a read of process.env', () => {
  const file = path.join(engineDir, 'x.ts');
  assert.deepEqual(
    violations(file, "import { a } from '../services/config/load.ts';\nexport { b } from '../schemas/engine.ts';"),
    ['engine/x.ts imports ../services/config/load.ts'],
  );
  assert.deepEqual(violations(file, "const m = await import('../pipelines/ports.ts');"), [
    'engine/x.ts imports ../pipelines/ports.ts',
  ]);
  assert.deepEqual(violations(file, "import 'zod';\nimport path from 'node:path';\nconst home = process.env.HOME;"), [
    'engine/x.ts mentions process.env',
  ]);
});
