// `npm run check:layers`: prints every breach of the folder graph's rules (docs/architecture.md, "Imports") and
// exits 1 when there is one, so CI and a reader run the same check. `--root DIR` checks another checkout.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { checkLayers } from './layers/check.ts';

const { values } = parseArgs({ options: { root: { type: 'string' } } });
const root = path.resolve(values.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const violations = checkLayers(root);
if (violations.length === 0) {
  process.stdout.write('layers: no breach\n');
} else {
  for (const violation of violations) process.stderr.write(`[${violation.rule}] ${violation.message}\n`);
  process.stderr.write(`layers: ${violations.length} breach${violations.length === 1 ? '' : 'es'}\n`);
  process.exitCode = 1;
}
