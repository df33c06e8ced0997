// npm run test:faults [-- --quick] [--only a,b] [--json FILE]: the fault, bad-input and load suite against the
// real services. Prints the table; exits 1 when anything was lost, wrong, crashed or hung.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { stopStartedOnSignals } from './interrupt.ts';
import { formatTable, passed } from './report.ts';
import { runSuite } from './run-suite.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    json: { type: 'string' },
  },
});

// A run cut off (a timeout's SIGTERM, Ctrl-C) stops the Redis, brokers and workers its scenarios started.
stopStartedOnSignals();

const rows = await runSuite({
  quick: values.quick,
  ...(values.only ? { only: values.only.split(',').map((s) => s.trim()) } : {}),
});
process.stdout.write(`${formatTable(rows)}\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(rows, null, 2)}\n`);
const failed = rows.filter((r) => !passed(r));
process.stdout.write(
  failed.length === 0 ? `all ${rows.length} rows passed\n` : `${failed.length} of ${rows.length} rows FAILED\n`,
);
process.exit(failed.length === 0 ? 0 : 1);
