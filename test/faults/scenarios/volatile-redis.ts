// Redis restarted without persistence. A worker refuses such a Redis unless --allow-volatile-redis; one that was
// allowed has a chunk of a document in flight when the Redis (neither AOF nor RDB, the scenario's own) is
// killed and started again empty. The chunk's commit finds version 0 where it started from a later one: the
// document must fail loudly — E_CHECKPOINT_REGRESSED in a dead letter and a failure record — and never be
// dropped as "checkpoint moved on".
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { tinyModel } from '../../helpers/fixtures.ts';
import { cliEntry } from '../../helpers/paths.ts';
import { OwnRedis } from '../../integration/helpers/own-redis.ts';
import { Cluster, type FaultDocument } from '../cluster.ts';
import { onInterrupt } from '../interrupt.ts';
import type { Scenario } from '../scenario.ts';

const run = promisify(execFile);
// Long chunks (about a second each on the tiny model), so the restart lands inside the model's work.
const CHUNK_TOKENS = 65_536;
const MOVED_ON = 'checkpoint moved on; this run is discarded';

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** `rwkvstream worker` without the allow flag: it must exit 1 with E_REDIS_VOLATILE before loading the model. */
async function refusedWithoutFlag(url: string, brokers: string[]): Promise<string | null> {
  const out = await run(
    process.execPath,
    [
      cliEntry,
      'worker',
      '--model',
      tinyModel,
      '--redis',
      url,
      '--kafka',
      brokers.join(','),
      '--connect-attempts',
      '1',
      '--metrics-port',
      'off',
      '--prefix',
      'volatile-refusal',
    ],
    { timeout: 60_000 },
  ).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
  return out.code === 1 && out.stderr.includes('E_REDIS_VOLATILE')
    ? null
    : `worker exit ${out.code}: ${out.stderr.slice(0, 200)}`;
}

export const volatileRedis: Scenario = {
  name: 'volatile-redis',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const tries = ctx.quick ? 1 : 3;
    const brokers = await ctx.brokers();
    const server = await OwnRedis.start(['--save', '', '--appendonly', 'no']);
    const forget = onInterrupt(`the scenario Redis on port ${server.port}`, () => server.stop());
    const problems: string[] = [];
    let loud = 0;
    try {
      const refusal = await refusedWithoutFlag(server.url, brokers);
      if (refusal) problems.push(`not refused without --allow-volatile-redis: ${refusal}`);
      const text = Array.from(
        { length: 4400 },
        (_, i) => `Line ${i}: the ledger shows ${(i * 17) % 89} entries for account ${i % 13}.\n`,
      ).join('');
      await Cluster.open(
        { brokers, redisUrl: server.url, name: 'volatile-redis', chunkTokens: CHUNK_TOKENS },
        async (cluster) => {
          const worker = await cluster.spawn('volatile-worker');
          for (let t = 0; t < tries; t++) {
            const doc: FaultDocument = { id: `volatile-${t}`, text, task: { kind: 'summarize', maxTokens: 8 } };
            await cluster.submit([doc]);
            // A chunk after the first commit is running: its writer expects version 1 or more.
            await until(
              `a chunk of ${doc.id} after its first commit`,
              90_000,
              async () =>
                (await cluster.audit(doc.id)).length > 0 &&
                (await cluster.activeChunkJobs(worker)).some((id) => id.startsWith(`chunk~${doc.id}~`)),
            );
            await sleep(150);
            const movedOnBefore = cluster.logged(MOVED_ON).length;
            await server.restart();
            ctx.log(`${doc.id}: Redis restarted empty under a running chunk`);
            const letter = await until(
              `a dead letter for ${doc.id}`,
              60_000,
              async () => cluster.deadLettersOf(doc.id)[0],
            ).catch(() => null);
            const failure = await cluster.redis.hget(cluster.keys.result('document', doc.id), 'failure');
            if (!letter)
              problems.push(`${doc.id}: no dead letter; worker said ${JSON.stringify(worker.logs.slice(-3))}`);
            else if (JSON.parse(letter).code !== 'E_CHECKPOINT_REGRESSED')
              problems.push(`${doc.id}: dead letter ${letter.slice(0, 200)}`);
            else if (!failure || JSON.parse(failure).code !== 'E_CHECKPOINT_REGRESSED')
              problems.push(`${doc.id}: failure record ${failure}`);
            else if (cluster.logged(MOVED_ON).length > movedOnBefore) problems.push(`${doc.id}: logged "${MOVED_ON}"`);
            else loud++;
          }
          if (!worker.running()) problems.push('the worker exited');
        },
      );
    } finally {
      await server.stop();
      forget();
    }
    report({
      category: 'fault',
      name: 'Redis restarted without persistence under a running chunk',
      tries: tries + 1,
      identical: 0,
      refused: loud + (problems.some((p) => p.startsWith('not refused')) ? 0 : 1),
      lost: problems.length,
      note:
        `worker refused without --allow-volatile-redis (E_REDIS_VOLATILE); ${loud}/${tries} documents failed loudly ` +
        `(E_CHECKPOINT_REGRESSED dead letter + failure record)` +
        (problems.length > 0 ? `; ${problems[0]}` : ''),
    });
  },
};
