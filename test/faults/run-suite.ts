// Runs the fault suite's scenarios one after the other against the real services and collects their rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { kafkaBrokers, redisUrl } from '../integration/helpers/services.ts';
import { crashedRow, type Row } from './report.ts';
import type { Scenario, SuiteContext } from './scenario.ts';
import { scenarios } from './scenarios/index.ts';

export interface SuiteOptions {
  quick: boolean;
  /** Names of the scenarios to run (default: all, or the quick ones with `quick`). */
  only?: string[];
  log?: (message: string) => void;
}

export function selectScenarios(options: SuiteOptions): Scenario[] {
  if (options.only && options.only.length > 0) {
    const unknown = options.only.filter((name) => !scenarios.some((s) => s.name === name));
    if (unknown.length > 0)
      throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
    return scenarios.filter((s) => options.only!.includes(s.name));
  }
  return options.quick ? scenarios.filter((s) => s.quick) : scenarios;
}

export async function runSuite(options: SuiteOptions): Promise<Row[]> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const rows: Row[] = [];
  for (const scenario of selectScenarios(options)) {
    const tmp = mkdtempSync(path.join(tmpdir(), `rwkvstream-faults-${scenario.name}-`));
    const ctx: SuiteContext = {
      quick: options.quick,
      brokers: kafkaBrokers,
      redisUrl,
      tmp,
      log: (m) => log(`[${scenario.name}] ${m}`),
    };
    const started = performance.now();
    log(`[${scenario.name}] running`);
    const before = rows.length;
    try {
      await scenario.run(ctx, (row) => rows.push(row));
      if (rows.length === before) throw new Error('the scenario reported nothing');
    } catch (err) {
      rows.push(crashedRow(scenario.category, scenario.name, err));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`[${scenario.name}] done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return rows;
}
