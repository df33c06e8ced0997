// `rwkvstream scan LOGFILE|-`: every line of a log is an event of one stream; each gets its anomaly score
// (how surprising it is after everything before it), and lines above the threshold are alerts. The stream's
// state is checkpointed after every batch of lines: an interrupted scan resumes when run again.
import type { Command } from 'commander';

import { AnomalySettingsSchema } from '../../../schemas/tasks.ts';
import { runScanJob } from '../../embedded/index.ts';
import { LOG_MODEL } from '../../models/index.ts';
import { deliverScan } from '../deliver.ts';
import { SCAN_CONFIG_FLAGS, addEmbeddedFlags, runEmbedded, type EmbeddedFlags } from '../embedded-command.ts';
import { UsageError } from '../output.ts';
import { numberFlag } from '../pipeline-options.ts';

/** The flag that sets each anomaly setting, for naming it in an error. */
const SCAN_FLAG_OF: Readonly<Record<string, string>> = {
  threshold: '--threshold',
  batchEvents: '--batch-lines',
  windowEvents: '--window-events',
  topEvents: '--top-events',
};

interface ScanFlags extends EmbeddedFlags {
  threshold?: string;
  batchLines?: string;
  windowEvents?: string;
  topEvents?: string;
  alertsOnly?: boolean;
}

export function scanCommand(program: Command): void {
  const cmd = program
    .command('scan')
    .argument('<logfile>', 'the log, one event per line ("-": standard input)')
    .description('score every line of a log for anomalies in this process: surprise given the lines before it (resumable)')
    .option('--threshold <nats>', 'surprise (mean nats per token) above which a line is an alert (default 4)')
    .option('--batch-lines <n>', 'lines per batch: the checkpoint interval (default 64)')
    .option('--window-events <n>', 'summarize every window of this many lines (by line sequence; default 0: none)')
    .option('--top-events <n>', 'most surprising lines listed in each window summary (default 5)')
    .option('--alerts-only', 'text output: print only the lines that raised an alert');
  addEmbeddedFlags(cmd, SCAN_CONFIG_FLAGS).action(async (file: string, flags: ScanFlags) => {
    await runEmbedded('scan', file, flags, {
      // No model configured: the byte-level log model shipped in models/log/ (no download, works offline).
      shippedDefault: LOG_MODEL,
      prepare: (config) => {
        const given = {
          ...config.anomaly,
          ...(flags.threshold !== undefined ? { threshold: numberFlag('threshold', flags.threshold) } : {}),
          ...(flags.batchLines !== undefined ? { batchEvents: numberFlag('batch-lines', flags.batchLines) } : {}),
          ...(flags.windowEvents !== undefined ? { windowEvents: numberFlag('window-events', flags.windowEvents) } : {}),
          ...(flags.topEvents !== undefined ? { topEvents: numberFlag('top-events', flags.topEvents) } : {}),
        };
        const parsed = AnomalySettingsSchema.safeParse(given);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const flag = SCAN_FLAG_OF[String(issue.path[0])] ?? `anomaly.${issue.path.join('.')}`;
          throw new UsageError(`${flag}: ${issue.message}`);
        }
        return { ...config, anomaly: parsed.data };
      },
      run: ({ options, reporter }, config) => {
        const settings = { ...options.settings, anomaly: config.anomaly };
        const output = { json: flags.json === true, alertsOnly: flags.alertsOnly === true, threshold: config.anomaly.threshold };
        return runScanJob({ ...options, settings }, deliverScan(output, reporter));
      },
    });
  });
}
