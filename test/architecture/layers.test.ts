// The folder graph of docs/architecture.md: the import scanner on sources built to mislead it, each rule on a
// small tree of its own, the command's exit status, and the repository itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { checkLayers, folderOf, type Violation } from '../../tools/layers/check.ts';
import { ImportScanError, scanImports } from '../../tools/layers/imports.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const trees: string[] = [];
after(() => {
  for (const dir of trees) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rwkvstream-layers-'));
  trees.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

const specifiers = (source: string): string[] => scanImports(source).map((ref) => ref.specifier);
const describe = (violations: Violation[]): string => violations.map((v) => `[${v.rule}] ${v.message}`).join('\n');

test('every import form is found, type-only ones included', () => {
  const source = [
    "import a from './a.ts';",
    "import type { B } from './b.ts';",
    "import * as c from './c.ts';",
    "import './d.ts';",
    "import {\n  e,\n  type E,\n} from './e.ts';",
    "export * from './f.ts';",
    "export type { G } from './g.ts';",
    "export { h as default } from './h.ts';",
    "const i = await import('./i.ts');",
    "type J = typeof import('./j.ts');",
    "const k = require('./k.cjs');",
    'import l, { m } from "./l.ts";',
  ].join('\n');
  assert.deepEqual(specifiers(source), [
    './a.ts',
    './b.ts',
    './c.ts',
    './d.ts',
    './e.ts',
    './f.ts',
    './g.ts',
    './h.ts',
    './i.ts',
    './j.ts',
    './k.cjs',
    './l.ts',
  ]);
  assert.deepEqual(
    scanImports(source).map((ref) => ref.line),
    [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15],
  );
});

test('imports inside comments, strings, templates and regular expressions are not imports', () => {
  const source = [
    "// import x from './comment-line.ts';",
    "/* import y from './comment-block.ts'; */",
    'const s = "import z from \'./string.ts\'";',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the scanner must skip a ${ inside a string
    "const t = `import w from './template.ts' ${ `nested ${'import(\"./deep.ts\")'}` } still text`;",
    "const r = /import v from '.\\/regex.ts'/u;",
    'const ratio = total! / count; const also = /\\/\\*/; ',
    "const u = x.import('./member.ts'); const meta = import.meta.url;",
    "const o = { import: './key.ts', from: './key2.ts' };",
    "export const value = 1; export function f() { return 'from'; }",
    "import real from './real.ts';",
  ].join('\n');
  assert.deepEqual(specifiers(source), ['./real.ts']);
  assert.equal(scanImports(source)[0]?.line, 10);
});

test('a source the scanner cannot follow is refused, not half read', () => {
  assert.throws(() => scanImports("const s = 'open;\nimport x from './x.ts';"), ImportScanError);
  assert.throws(() => scanImports('/* never closed'), ImportScanError);
  assert.throws(() => scanImports('const t = `${a'), ImportScanError);
});

test('folders: one per adapter, per service role, per pipelines subfolder, else the top-level directory', () => {
  assert.equal(folderOf('services/adapters/redis/keys.ts'), 'services/adapters/redis');
  assert.equal(folderOf('services/cli/commands/scan.ts'), 'services/cli');
  assert.equal(folderOf('services/cli/main.ts'), 'services/cli');
  assert.equal(folderOf('services/log.ts'), 'services');
  assert.equal(folderOf('pipelines/tasks/summarize.ts'), 'pipelines/tasks');
  assert.equal(folderOf('pipelines/plan.ts'), 'pipelines');
  assert.equal(folderOf('test/ports/ports.test.ts'), 'test');
});

test('each rule names the file and line that breaks it', () => {
  const root = tree({
    'schemas/a.ts': "import { p } from '../pipelines/p.ts';\nexport const a = p;\n",
    'engine/e.ts': "import { c } from '../services/config/c.ts';\nimport { s } from '../schemas/s.ts';\n",
    'engine/ok.ts': "import x from '../native/build/rwkv.node';\n",
    'pipelines/p.ts':
      "// reads what services/ wrote\nimport type { W } from '../services/worker/w.ts';\nexport const p = 1;\n",
    'schemas/s.ts': 'export const s = 1;\n',
    'services/config/c.ts': 'export const c = 1;\n',
    'services/worker/w.ts': 'export type W = number;\n',
    'services/adapters/files/sink.ts': "import { lines } from '../../embedded/lines.ts';\n",
    'services/embedded/lines.ts': "import { sink } from '../adapters/files/sink.ts';\nexport const lines = sink;\n",
  });
  const found = checkLayers(root).map((v) => `${v.rule} ${v.file}:${v.line}`);
  assert.deepEqual(found.filter((f) => !f.startsWith('folder-cycle')).sort(), [
    'adapter-process services/adapters/files/sink.ts:1',
    'layer engine/e.ts:1',
    'layer pipelines/p.ts:2',
    'layer schemas/a.ts:1',
    'services-text engine/e.ts:1',
    'services-text pipelines/p.ts:1',
    'services-text pipelines/p.ts:2',
  ]);
});

test('a cycle between folders is reported with its path and the imports that make it', () => {
  const root = tree({
    'pipelines/a.ts': "import { c } from '../services/x/c.ts';\nexport const a = c;\n",
    'services/adapters/redis/b.ts': "import { a } from '../../../pipelines/a.ts';\nexport const b = a;\n",
    'services/x/c.ts': "\n\nimport { b } from '../adapters/redis/b.ts';\nexport const c = b;\n",
    'services/adapters/redis/d.ts': "import { b } from './b.ts';\n", // inside one folder: no cycle
  });
  const cycles = checkLayers(root).filter((v) => v.rule === 'folder-cycle');
  assert.equal(cycles.length, 1, describe(cycles));
  const [cycle] = cycles as [Violation];
  assert.match(cycle.message, /^folder cycle pipelines -> services\/x -> services\/adapters\/redis -> pipelines\n/);
  assert.match(cycle.message, /pipelines\/a\.ts:1 imports services\/x\/c\.ts/);
  assert.match(cycle.message, /services\/x\/c\.ts:3 imports services\/adapters\/redis\/b\.ts/);
  assert.match(cycle.message, /services\/adapters\/redis\/b\.ts:1 imports pipelines\/a\.ts/);
});

test('the command exits 1 and prints each breach, 0 on a clean tree', () => {
  const script = path.join(repoRoot, 'tools', 'check-layers.ts');
  const dirty = tree({ 'schemas/a.ts': "import '../engine/e.ts';\n", 'engine/e.ts': '' });
  const bad = spawnSync(process.execPath, ['--import', 'tsx', script, '--root', dirty], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /\[layer\] schemas\/a\.ts:1 imports engine\/e\.ts/);
  const clean = tree({ 'engine/e.ts': "import '../schemas/s.ts';\n", 'schemas/s.ts': '' });
  const good = spawnSync(process.execPath, ['--import', 'tsx', script, '--root', clean], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /no breach/);
});

test('the repository keeps its layers: no breach of any rule', () => {
  const violations = checkLayers(repoRoot);
  assert.equal(violations.length, 0, `${violations.length} breaches (npm run check:layers):\n${describe(violations)}`);
});
