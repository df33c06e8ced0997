// `rwkvstream result ID [--redis URL] [--wait SECONDS]`: prints the result JSON once it exists. A document
// that failed prints its failure record and exits 1; no result within the wait exits 3.
import type { Command } from 'commander';

import { FailureRecordSchema } from '../../../schemas/results.ts';
import { connectRedis } from '../../redis/connection.ts';
import { Keys } from '../../store/keys.ts';
import { readResult } from '../../store/read-result.ts';
import { addRedisFlags, numberFlag } from '../pipeline-options.ts';
import { UsageError } from '../output.ts';

interface ResultFlags {
  redis: string;
  prefix: string;
  wait: string;
  stream?: boolean;
}

export function resultCommand(program: Command): void {
  const cmd = program
    .command('result')
    .description('print the result of a document (or with --stream, the latest batch of a stream) as JSON')
    .argument('<id>', 'document id (or stream id with --stream)')
    .option('--wait <seconds>', 'wait up to this long for the result', '0')
    .option('--stream', 'ID is an event stream: print its latest anomaly batch');
  addRedisFlags(cmd).action(async (id: string, flags: ResultFlags) => {
    const wait = numberFlag('wait', flags.wait)!;
    if (wait < 0) throw new UsageError('--wait must not be negative');
    const redis = connectRedis(flags.redis, 'rwkvstream-result');
    try {
      const json = await readResult(redis, new Keys(flags.prefix), flags.stream ? 'stream' : 'document', id, wait * 1000);
      if (json === null) {
        process.stderr.write(`rwkvstream: no result for ${id}${wait > 0 ? ` after ${wait} s` : ''}\n`);
        process.exitCode = 3;
        return;
      }
      process.stdout.write(`${json}\n`);
      const failure = FailureRecordSchema.safeParse(JSON.parse(json));
      if (failure.success) {
        process.stderr.write(`rwkvstream: ${failure.data.code}: document ${id} failed at ${failure.data.stage}: ${failure.data.message}\n`);
        process.exitCode = 1;
      }
    } finally {
      await redis.quit();
    }
  });
}
