// `rwkvstream scan LOGFILE|-`: every line of a log is an event of one stream; each gets its anomaly score
// (how surprising it is after everything before it), and lines above the threshold are alerts. Lines are
// scored in batches as they arrive and each batch is printed at once; the stream's state is checkpointed after
// every batch, so an interrupted scan continues where it was when run again with the same id.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import type { Command } from 'commander';

import type { ScanSource } from '../../embedded/scan-job.ts';
import { addEmbeddedFlags } from '../command-flags.ts';
import type { EmbeddedFlags } from '../embedded-command.ts';
import { UsageError, numberFlag } from '../output.ts';

/** The flag that sets each anomaly setting, for naming it in an error. */
const SCAN_FLAG_OF: Readonly<Record<string, string>> = {
  threshold: '--threshold',
  alertRate: '--alert-rate',
  warmupEvents: '--warmup-lines',
  batchEvents: '--batch-lines',
  batchMs: '--batch-ms',
  windowEvents: '--window-events',
  topEvents: '--top-events',
  eventText: '--event-text',
};

/** A scan closes a partial batch after this long without a new line, unless configured otherwise. */
const SCAN_BATCH_MS = 200;

interface ScanFlags extends EmbeddedFlags {
  follow?: boolean;
  threshold?: string;
  alertRate?: string;
  warmupLines?: string;
  batchLines?: string;
  batchMs?: string;
  windowEvents?: string;
  topEvents?: string;
  eventText?: string;
  alertsOnly?: boolean;
}

/** Standard input and pipes are read as streams; a regular file by position (and followed, with --follow). */
async function scanSource(full: string | null, follow: boolean): Promise<ScanSource> {
  if (full === null) return { kind: 'stream', name: 'stdin', stream: process.stdin };
  const { permanent } = await import('../../../pipelines/errors.ts');
  const { describeIoError } = await import('../../adapters/files/errors.ts');
  let info;
  try {
    info = await stat(full);
  } catch (err) {
    throw permanent('E_INPUT', `cannot read ${full}: ${describeIoError(err)}`, err);
  }
  if (info.isFIFO() || info.isCharacterDevice()) {
    if (follow) throw new UsageError('--follow is for a file; a pipe is read as it arrives anyway');
    return { kind: 'stream', name: path.basename(full), stream: createReadStream(full) };
  }
  return { kind: 'file', path: full, name: path.basename(full), follow };
}

function thresholdFlag(value: string): number | 'auto' {
  return value.trim() === 'auto' ? 'auto' : numberFlag('threshold', value)!;
}

export function scanCommand(program: Command): void {
  const cmd = program
    .command('scan')
    .argument('<logfile>', 'the log, one event per line ("-": standard input, read as it arrives)')
    .description(
      'score every line of a log for anomalies in this process, printing each batch as it is scored (resumable)',
    )
    .option('--follow', 'keep reading the file as it grows, and across rotation, like tail -F (until Ctrl-C)')
    .option(
      '--threshold <auto|nats>',
      "auto: alert on the stream's own rare lines (default); a number: surprise (mean nats per token) above which a line is an alert",
    )
    .option('--alert-rate <fraction>', '--threshold auto: the share of lines that are alerts (default 0.01)')
    .option('--warmup-lines <n>', '--threshold auto: lines read before any can be an alert (default 100)')
    .option('--batch-lines <n>', 'a batch is scored when this many lines wait (default 64)')
    .option('--batch-ms <ms>', '... or when no new line came for this long (default 200)')
    .option('--window-events <n>', 'summarize every window of this many lines (by line sequence; default 0: none)')
    .option('--top-events <n>', 'most surprising lines listed in each window summary (default 5)')
    .option('--event-text <chars>', "characters of each line's text in its score (default 256; 0: none)")
    .option('--alerts-only', 'print only the lines that raised an alert (with --json: only those events)');
  addEmbeddedFlags(cmd, 'scan').action(async (file: string, flags: ScanFlags) => {
    if (flags.follow && file === '-')
      throw new UsageError('--follow is for a file; standard input is read as it arrives anyway');
    const { AnomalySettingsSchema } = await import('../../../schemas/tasks.ts');
    const { defaultId } = await import('../../embedded/index.ts');
    const { runScanJob } = await import('../../embedded/scan-job.ts');
    const { LOG_MODEL } = await import('../../models/index.ts');
    const { scanPrinter } = await import('../deliver.ts');
    const { resultId, runWithEngine } = await import('../embedded-command.ts');
    await runWithEngine('scan', flags, {
      // No model configured: the byte-level log model shipped in models/log/ (no download, works offline).
      shippedDefault: LOG_MODEL,
      prepare: (config, loaded) => {
        const given = {
          ...config.anomaly,
          ...(loaded.origin('anomaly.batchMs') === 'default' ? { batchMs: SCAN_BATCH_MS } : {}),
          ...(flags.threshold !== undefined ? { threshold: thresholdFlag(flags.threshold) } : {}),
          ...(flags.alertRate !== undefined ? { alertRate: numberFlag('alert-rate', flags.alertRate) } : {}),
          ...(flags.warmupLines !== undefined ? { warmupEvents: numberFlag('warmup-lines', flags.warmupLines) } : {}),
          ...(flags.batchLines !== undefined ? { batchEvents: numberFlag('batch-lines', flags.batchLines) } : {}),
          ...(flags.batchMs !== undefined ? { batchMs: numberFlag('batch-ms', flags.batchMs) } : {}),
          ...(flags.windowEvents !== undefined
            ? { windowEvents: numberFlag('window-events', flags.windowEvents) }
            : {}),
          ...(flags.topEvents !== undefined ? { topEvents: numberFlag('top-events', flags.topEvents) } : {}),
          ...(flags.eventText !== undefined ? { eventText: numberFlag('event-text', flags.eventText) } : {}),
        };
        const parsed = AnomalySettingsSchema.safeParse(given);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const flag = SCAN_FLAG_OF[String(issue.path[0])] ?? `anomaly.${issue.path.join('.')}`;
          throw new UsageError(`${flag}: ${issue.message}`);
        }
        return { ...config, anomaly: parsed.data };
      },
      run: async ({ options, reporter }, config, signals) => {
        const full = file === '-' ? null : path.resolve(file);
        const source = await scanSource(full, flags.follow === true);
        const { anomaly } = config;
        const printer = scanPrinter(
          {
            json: flags.json === true,
            alertsOnly: flags.alertsOnly === true,
            threshold: anomaly.threshold,
            alertRate: anomaly.alertRate,
            warmupEvents: anomaly.warmupEvents,
          },
          reporter,
        );
        signals.running();
        try {
          const end = await runScanJob({
            ...options,
            settings: { ...options.settings, anomaly },
            id: flags.id === undefined ? defaultId(full ?? 'stdin') : resultId(flags.id, source.name),
            source,
            printer: (json) => printer.batch(json),
            onNewFile: (why) => {
              if (flags.quiet === true) return;
              reporter.beforeOutput();
              process.stderr.write(`rwkvstream: ${file} was ${why}: reading the new file from its start\n`);
            },
          });
          await printer.end(end.status === 'done');
          return end;
        } finally {
          // A stream may still be open (a stop before its end): it must not keep the process alive.
          if (source.kind === 'stream') (source.stream as Readable).destroy();
        }
      },
    });
  });
}
