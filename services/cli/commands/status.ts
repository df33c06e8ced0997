// `rwkvstream status ID [--stream] [--json] [--watch [SECONDS]]`: where a document (or event stream) stands —
// unknown, queued, running (chunk k of n, tokens, rate, time left, the worker on it), done, failed or
// refused (code and reason). Exit status: 0 known and not failed, 3 unknown, 4 failed or refused.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Command } from 'commander';

import type { StatusReport } from '../../../schemas/status.ts';
import { addCommandSettings } from '../../config/flags.ts';
import type { ConfigFlags } from '../../config/index.ts';
import { EXIT, UsageError, numberFlag, printJson } from '../output.ts';

interface StatusFlags extends ConfigFlags {
  stream?: boolean;
  json?: boolean;
  watch?: string | boolean;
}

/** A state that will not change by itself. */
const settled = (report: StatusReport) =>
  report.state === 'done' || report.state === 'failed' || report.state === 'refused';

export function exitCodeOfStatus(report: StatusReport): number {
  if (report.state === 'unknown') return EXIT.noResult;
  if (report.state === 'failed' || report.state === 'refused') return EXIT.failed;
  return EXIT.ok;
}

export function statusCommand(program: Command): void {
  const cmd = program
    .command('status')
    .description(
      'say where a document (or with --stream, an event stream) stands: unknown, queued, running, done, failed or refused',
    )
    .argument('<id>', 'document id (or stream id with --stream)')
    .option('--stream', 'ID is an event stream')
    .option('--json', 'print the status as JSON (one object per line with --watch)')
    .option(
      '--watch [seconds]',
      'print it again whenever it changes (every 2 s, or SECONDS) until it is done, failed or refused',
    );
  addCommandSettings(cmd, 'status').action(async (id: string, flags: StatusFlags) => {
    const every =
      flags.watch === undefined || flags.watch === false
        ? null
        : flags.watch === true
          ? 2
          : numberFlag('watch', flags.watch)!;
    if (every !== null && !(every > 0)) throw new UsageError('--watch needs a positive number of seconds');
    const { loadConfig } = await import('../../config/index.ts');
    const { describeRedis, redisAccessFrom } = await import('../../adapters/redis/access.ts');
    const { openRedis } = await import('../../adapters/redis/connection.ts');
    const { Keys } = await import('../../adapters/redis/keys.ts');
    const { readStatus } = await import('../../status/read-status.ts');
    const { statusLine } = await import('../status-text.ts');
    const loaded = await loadConfig({ flags });
    const access = await redisAccessFrom(loaded);
    const keys = new Keys(loaded.config.prefix, { cluster: access.cluster });
    const redis = await openRedis(access, 'rwkvstream-status');
    const lookedIn = { prefix: loaded.config.prefix, redis: describeRedis(access) };
    const show = (report: StatusReport) =>
      flags.json ? printJson(report) : process.stdout.write(`${id}: ${statusLine(report, lookedIn)}\n`);
    try {
      let report = await readStatus(redis, keys, flags.stream ? 'stream' : 'document', id);
      show(report);
      if (every !== null) {
        let last = JSON.stringify(report);
        while (!settled(report)) {
          await sleep(every * 1000);
          report = await readStatus(redis, keys, flags.stream ? 'stream' : 'document', id);
          const now = JSON.stringify(report);
          if (now !== last) show(report);
          last = now;
        }
      }
      process.exitCode = exitCodeOfStatus(report);
    } finally {
      redis.disconnect();
    }
  });
}
