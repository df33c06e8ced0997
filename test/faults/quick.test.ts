// The CI subset of the fault suite (`npm run test:faults` runs all of it): the same scenarios with fewer tries.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatTable, passed } from './report.ts';
import { runSuite } from './run-suite.ts';

test('fault suite, CI subset: nothing lost, every bad input refused with a reason', { timeout: 900_000 }, async () => {
  const rows = await runSuite({ quick: true });
  const table = formatTable(rows);
  process.stdout.write(`${table}\n`);
  assert.ok(rows.length > 0, 'the subset ran no scenario');
  assert.deepEqual(
    rows.filter((r) => !passed(r)).map((r) => `${r.name}: ${r.note}`),
    [],
    table,
  );
});
