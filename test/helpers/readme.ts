// The README's generated tables: each must appear in the README exactly as its function prints it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { repoRoot } from './paths.ts';

export function readme(): string {
  return readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
}

/** `table` is in the README as printed; the message says how to print it (`module` exports `printer`). */
export function assertReadmeHasTable(table: string, module: string, printer: string): void {
  assert.ok(
    readme().includes(table),
    `README.md has the table of ${module} (print it with: npx tsx -e "import('./${module}').then((m) => console.log(m.${printer}()))")`,
  );
}
