// The pipelines' folders form no cycle: a subfolder (tasks/, prompts/) imports nothing of pipelines/ outside
// itself, and pipelines/ as a whole imports only schemas/ and engine/ (no service, broker or store client).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../helpers/paths.ts';

const pipelines = path.join(repoRoot, 'pipelines');
const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** Every relative import of every file under pipelines/, resolved to a path from the repository root. */
async function imports(): Promise<{ from: string; to: string }[]> {
  const out: { from: string; to: string }[] = [];
  for (const file of await sources(pipelines)) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) continue;
      out.push({
        from: path.relative(repoRoot, file),
        to: path.relative(repoRoot, path.resolve(path.dirname(file), spec)),
      });
    }
  }
  return out;
}

test('a subfolder of pipelines/ imports nothing of pipelines/ outside itself', async () => {
  const found = await imports();
  assert.ok(found.length > 50, 'the imports were read');
  const back = found.filter(({ from, to }) => {
    const folder = path.dirname(from);
    return folder !== 'pipelines' && to.startsWith('pipelines/') && !to.startsWith(`${folder}/`);
  });
  assert.deepEqual(back, []);
});

test('pipelines/ imports only schemas/ and engine/ beside itself', async () => {
  const outside = (await imports()).filter(({ to }) => !/^(pipelines|schemas|engine)\//.test(to));
  assert.deepEqual(outside, []);
});
