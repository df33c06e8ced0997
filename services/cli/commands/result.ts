// `rwkvstream result ID [--redis URL] [--wait SECONDS]`: prints the result JSON once it exists. A document
// that failed or was refused prints its failure record and exits 4; no result within the wait exits 3, saying
// where the document stands (unknown, queued, running). `--sections` prints the
// document's section results in order instead, as they are so far (a running document's first sections), or
// with `--wait`, each as it is made until the document is done. `--stream` prints a stream's recent batches
// (one JSON per line, oldest first), and with `--follow` every batch after them as it is scored, until Ctrl-C.
import type { Command } from 'commander';

import { setTimeout as sleep } from 'node:timers/promises';

import type { RedisClient } from '../../adapters/redis/access.ts';
import type { Keys } from '../../adapters/redis/keys.ts';

import { addCommandSettings } from '../../config/flags.ts';
import type { ConfigFlags } from '../../config/index.ts';
import { EXIT, UsageError, numberFlag } from '../output.ts';

interface ResultFlags extends ConfigFlags {
  wait: string;
  stream?: boolean;
  last: string;
  follow?: boolean;
  sections?: boolean;
  json?: boolean;
}

/** How often a waiting `--sections` (or `--stream --follow`) looks for new results. */
const SECTION_POLL_MS = 250;

/** Batches read per round trip while following a stream. */
const STREAM_READ = 256;

/**
 * Prints stream `id`'s last `count` batches, then with `follow` every later batch as it is stored, until `stop`
 * is aborted. A following reader that fell behind by more than the kept history misses the batches no longer
 * kept (said on stderr). Returns how many batches it printed.
 */
async function printStream(
  redis: RedisClient,
  keys: Keys,
  id: string,
  count: number,
  follow: boolean,
  stop: AbortSignal,
): Promise<number> {
  const { AnomalyResultSchema } = await import('../../../schemas/results.ts');
  const { RedisResultStore } = await import('../../adapters/redis/result-store.ts');
  const store = new RedisResultStore(redis, keys, 0);
  let printed = 0;
  let last = -1;
  const show = (lines: string[]) => {
    for (const line of lines) {
      const batch = AnomalyResultSchema.parse(JSON.parse(line)).batch;
      if (batch <= last) continue;
      if (last >= 0 && batch > last + 1 && follow)
        process.stderr.write(`rwkvstream: batches ${last + 1}-${batch - 1} of ${id} are no longer kept\n`);
      process.stdout.write(`${line}\n`);
      last = batch;
      printed++;
    }
  };
  show(await store.getRecentBatches(id, count));
  while (follow && !stop.aborted) {
    const lines = await store.getStreamBatches(id, last, STREAM_READ);
    show(lines);
    if (lines.length < STREAM_READ) await sleep(SECTION_POLL_MS, undefined, { signal: stop }).catch(() => {});
  }
  return printed;
}

/**
 * Prints the sections of document `id` from the first on, in order; with a wait, goes on printing them as they
 * are stored until the document has its result (or failed) or the wait is over. Says how many it printed, and
 * the failure record of a document that failed.
 */
async function printSections(
  redis: RedisClient,
  keys: Keys,
  id: string,
  waitMs: number,
  json: boolean,
): Promise<{ printed: number; failure: string | null }> {
  const { FailureRecordSchema, SectionResultSchema } = await import('../../../schemas/results.ts');
  const { readResult } = await import('../../adapters/redis/read-result.ts');
  const { RedisResultStore } = await import('../../adapters/redis/result-store.ts');
  const { sectionText } = await import('../result-text.ts');
  // Only read here: the retention applies to what a store writes.
  const store = new RedisResultStore(redis, keys, 0);
  const deadline = Date.now() + waitMs;
  let printed = 0;
  for (;;) {
    // The end is read before the sections: once a document is done, every section is stored.
    const end = await readResult(redis, keys, 'document', id, 0);
    for (const line of await store.getSections(id, printed)) {
      process.stdout.write(json ? `${line}\n` : sectionText(SectionResultSchema.parse(JSON.parse(line))));
      printed++;
    }
    const failure = end !== null && FailureRecordSchema.safeParse(JSON.parse(end)).success ? end : null;
    if (end !== null || Date.now() >= deadline) return { printed, failure };
    await sleep(Math.min(SECTION_POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

/** The reason of a failed or refused document on stderr, and its exit status. */
async function reportFailure(id: string, json: string): Promise<void> {
  const { FailureRecordSchema } = await import('../../../schemas/results.ts');
  const record = FailureRecordSchema.parse(JSON.parse(json));
  const what = record.stage === 'ingest' || record.stage === 'plan' ? 'was refused' : 'failed';
  process.stderr.write(`rwkvstream: ${record.code}: document ${id} ${what} at ${record.stage}: ${record.message}\n`);
  process.exitCode = EXIT.failed;
}

export function resultCommand(program: Command): void {
  const cmd = program
    .command('result')
    .description('print the result of a document (or with --stream, the latest batch of a stream) as JSON')
    .argument('<id>', 'document id (or stream id with --stream)')
    .option('--wait <seconds>', 'wait up to this long for the result', '0')
    .option('--stream', 'ID is an event stream: print its recent anomaly batches, one JSON per line')
    .option('--last <n>', 'with --stream: how many of the latest batches (default 10)', '10')
    .option('--follow', 'with --stream: then print every new batch as it is scored, until Ctrl-C')
    .option(
      '--sections',
      "print the document's section results in order, so far (with --wait: as they are made, until it is done)",
    )
    .option('--json', 'with --sections: one JSON result per line instead of text (a result is always JSON)');
  addCommandSettings(cmd, 'result').action(async (id: string, flags: ResultFlags) => {
    const wait = numberFlag('wait', flags.wait)!;
    if (wait < 0) throw new UsageError('--wait must not be negative');
    if (flags.sections && flags.stream)
      throw new UsageError('--sections is for documents; a stream (--stream) has batches, not sections');
    if (flags.follow && !flags.stream)
      throw new UsageError(
        "--follow is for a stream (--stream); a document's sections are followed with --sections --wait",
      );
    const last = numberFlag('last', flags.last)!;
    if (!Number.isInteger(last) || last < 0) throw new UsageError('--last must be a whole number, 0 or more');
    const { FailureRecordSchema } = await import('../../../schemas/results.ts');
    const { loadConfig } = await import('../../config/index.ts');
    const { describeRedis, redisAccessFrom } = await import('../../adapters/redis/access.ts');
    const { openRedis } = await import('../../adapters/redis/connection.ts');
    const { Keys } = await import('../../adapters/redis/keys.ts');
    const { readResult } = await import('../../adapters/redis/read-result.ts');
    const { readDocumentStatus } = await import('../../status/read-status.ts');
    const { statusLine } = await import('../status-text.ts');
    const loaded = await loadConfig({ flags });
    const keys = new Keys(loaded.config.prefix, { cluster: loaded.config.redis.cluster });
    const access = await redisAccessFrom(loaded);
    const redis = await openRedis(access, 'rwkvstream-result');
    try {
      if (flags.stream) {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          // A stream without a history (results stored before it was kept) still has its latest batch.
          const printed = await printStream(redis, keys, id, last, flags.follow === true, stop.signal);
          if (printed === 0 && !flags.follow) {
            const latest = await readResult(redis, keys, 'stream', id, wait * 1000);
            if (latest !== null) process.stdout.write(`${latest}\n`);
            else {
              process.stderr.write(`rwkvstream: no result for ${id}${wait > 0 ? ` after ${wait} s` : ''}\n`);
              process.exitCode = EXIT.noResult;
            }
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        return;
      }
      if (flags.sections) {
        const { printed, failure } = await printSections(redis, keys, id, wait * 1000, flags.json === true);
        if (failure !== null) {
          await reportFailure(id, failure);
        } else if (printed === 0) {
          process.stderr.write(`rwkvstream: no sections for ${id}${wait > 0 ? ` after ${wait} s` : ''}\n`);
          process.exitCode = EXIT.noResult;
        }
        return;
      }
      const json = await readResult(redis, keys, 'document', id, wait * 1000);
      if (json === null) {
        // Why there is none: an id nobody submitted (or another deployment's) reads differently from a running one.
        const lookedIn = { prefix: keys.prefix, redis: describeRedis(access) };
        const where = `: ${statusLine(await readDocumentStatus(redis, keys, id), lookedIn)}`;
        process.stderr.write(`rwkvstream: no result for ${id}${wait > 0 ? ` after ${wait} s` : ''}${where}\n`);
        process.exitCode = EXIT.noResult;
        return;
      }
      process.stdout.write(`${json}\n`);
      if (FailureRecordSchema.safeParse(JSON.parse(json)).success) await reportFailure(id, json);
    } finally {
      redis.disconnect();
    }
  });
}
