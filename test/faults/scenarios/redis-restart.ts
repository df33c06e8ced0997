// Redis restarted under running work: documents of many chunks each are being read by two workers when the
// scenario's own Redis (infra/redis/start.sh on its own port and data directory, AOF on) is restarted, once
// gracefully (stop.sh: SIGTERM, Redis fsyncs the AOF) and once hard (SIGKILL: what was written to the AOF is in
// the page cache and survives; replies in flight are lost, and ioredis sends those commands again). Documents
// submitted just before the hard kill probe the ingest side: their Kafka offsets are committed as soon as their
// records are stored, so a store that forgot those writes would lose them for good (a host crash under `appendfsync everysec` would: see infra/redis/README.md for why the default is `always`).
// Every document must end with its reference result and one commit per chunk, and no worker may exit.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { repoRoot } from '../../helpers/paths.ts';
import { Cluster, mixedDocuments, type FaultDocument } from '../cluster.ts';
import { onInterrupt } from '../interrupt.ts';
import { referenceResult } from '../reference.ts';
import type { Scenario, SuiteContext } from '../scenario.ts';

const exec = promisify(execFile);
const CHUNK_TOKENS = 64;
// Short locks: jobs whose lock the restart lost are taken over within seconds.
const WORKER_ARGS = ['--lock-ms', '2000', '--stalled-ms', '1000'];

/** A Redis of the scenario's own, run by infra/redis/{start,stop}.sh (the shared one must never be restarted). */
export class ScenarioRedis {
  readonly port: number;
  readonly dataDir: string;
  /** Unregisters the stop on interruption. */
  #forget: (() => void) | undefined;

  constructor(ctx: SuiteContext, port: number) {
    this.port = port;
    this.dataDir = path.join(ctx.tmp, `redis-${port}`);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, REDIS_PORT: String(this.port), REDIS_DATA_DIR: this.dataDir };
  }

  async #script(name: string, args: string[] = []): Promise<number> {
    const started = performance.now();
    await exec(path.join(repoRoot, 'infra', 'redis', name), args, { env: this.#env(), timeout: 120_000 });
    return performance.now() - started;
  }

  /** Starts it (loading its AOF) and waits for PING; returns the milliseconds that took. */
  start(): Promise<number> {
    // Registered before the start, which an interruption may cut short half way.
    this.#forget ??= onInterrupt(`the scenario Redis on port ${this.port}`, () => this.destroy());
    return this.#script('start.sh');
  }

  /** A graceful stop (SIGTERM: Redis rewrites and fsyncs the AOF); returns the milliseconds it took. */
  stop(): Promise<number> {
    return this.#script('stop.sh');
  }

  /** SIGKILL of the server: writes the AOF had not fsynced yet are lost. */
  async kill(): Promise<void> {
    const pid = Number((await readFile(path.join(this.dataDir, 'redis.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    while (await isAlive(pid)) await sleep(20);
    await rm(path.join(this.dataDir, 'redis.pid'), { force: true });
  }

  /** Stops it, whatever state it is in, and deletes its data. */
  async destroy(): Promise<void> {
    await this.#script('stop.sh', ['--wipe']).catch(async () => {
      await rm(this.dataDir, { recursive: true, force: true });
    });
    this.#forget?.();
    this.#forget = undefined;
  }
}

async function isAlive(pid: number): Promise<boolean> {
  // A zombie (where init does not reap orphans) still exists but no longer serves anything.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Commit times (worker clock, ms) of every document's audit trail, oldest first. */
export async function commitTimes(cluster: Cluster, docs: FaultDocument[]): Promise<number[]> {
  const trails = await Promise.all(docs.map((d) => cluster.audit(d.id)));
  return trails.flatMap((t) => t.map((e) => e.at)).sort((a, b) => a - b);
}

/** Waits until `docs` have `atLeast` commits between them, at least one still unfinished; false when they finished first. */
export async function midWork(
  cluster: Cluster,
  docs: FaultDocument[],
  atLeast: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cluster.pending(docs).length === 0) return false;
    if ((await commitTimes(cluster, docs)).length >= atLeast) return true;
    await sleep(100);
  }
  throw new Error(`fewer than ${atLeast} chunks committed in ${timeoutMs / 1000} s`);
}

/** Milliseconds from `since` until the first commit after it; null when none came within the timeout. */
export async function firstCommitAfter(
  cluster: Cluster,
  docs: FaultDocument[],
  since: number,
  timeoutMs: number,
): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const after = (await commitTimes(cluster, docs)).find((at) => at >= since);
    if (after !== undefined) return after - since;
    if (cluster.pending(docs).length === 0) return null;
    await sleep(100);
  }
  return null;
}

/**
 * Waits until every document has its result out and its record marked finished. After Redis forgot its last
 * writes, a result can be out while the store still has the document running: the pipeline is redoing the
 * forgotten chunks, and the audit trail is only complete once it is done.
 */
export async function quiesced(cluster: Cluster, docs: FaultDocument[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  if (!(await cluster.settled(docs, timeoutMs))) return false;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(docs.map((d) => cluster.redis.hget(cluster.keys.record(d.id), 'status')));
    if (statuses.every((s) => s !== 'running')) return true;
    await sleep(100);
  }
  return false;
}

interface Round {
  name: string;
  docs: FaultDocument[];
  /** Extra documents submitted just before the restart (the ingest probe); empty for none. */
  late: FaultDocument[];
  restart(): Promise<{ downMs: number; startMs: number; upAt: number; figures: string }>;
}

export const redisRestart: Scenario = {
  name: 'redis-restart',
  category: 'fault',
  quick: true,
  async run(ctx, report) {
    const redis = new ScenarioRedis(ctx, 6391);
    // Each chunk of 64 tokens takes milliseconds on the tiny model: documents of a few hundred chunks keep the
    // workers busy for seconds, so each restart lands in the middle of their work.
    const docCount = ctx.quick ? 4 : 8;
    const paragraphs = ctx.quick ? 150 : 300;
    try {
      await redis.start();
      const rounds: Round[] = [
        {
          name: 'Redis graceful restart (SIGTERM)',
          docs: mixedDocuments(docCount, paragraphs, 'rg'),
          late: [],
          restart: async () => {
            const stopMs = await redis.stop();
            const startMs = await redis.start();
            return { downMs: stopMs, startMs, upAt: Date.now(), figures: `stop ${(stopMs / 1000).toFixed(1)} s` };
          },
        },
        {
          name: 'Redis SIGKILL restart',
          docs: mixedDocuments(docCount, paragraphs, 'rk'),
          late: mixedDocuments(2, 4, 'rk-late'),
          restart: async () => {
            const killed = performance.now();
            await redis.kill();
            const downMs = performance.now() - killed;
            const startMs = await redis.start();
            return { downMs, startMs, upAt: Date.now(), figures: 'SIGKILL' };
          },
        },
      ];
      // References first, so computing them does not compete with the workers later.
      for (const round of rounds)
        for (const doc of [...round.docs, ...round.late]) await referenceResult({ ...doc, chunkTokens: CHUNK_TOKENS });

      await Cluster.open(
        {
          brokers: await ctx.brokers(),
          redisUrl: redis.url,
          name: 'redis-restart',
          chunkTokens: CHUNK_TOKENS,
          workerArgs: WORKER_ARGS,
        },
        async (cluster) => {
          const workers = await Promise.all([cluster.spawn('rr-w1'), cluster.spawn('rr-w2')]);
          for (const round of rounds) {
            const all = [...round.docs, ...round.late];
            await cluster.submit(round.docs);
            // Some chunks of every document committed, others running or waiting.
            const inTime = await midWork(cluster, round.docs, round.docs.length * 3, 120_000);
            if (round.late.length > 0) {
              await cluster.submit(round.late);
              // Taken in (stored, planned, offsets committed) but not yet a second old in the AOF.
              const deadline = Date.now() + 10_000;
              while (
                Date.now() < deadline &&
                (await Promise.all(round.late.map((d) => cluster.redis.exists(cluster.keys.record(d.id))))).some(
                  (n) => n === 0,
                )
              )
                await sleep(20);
            }
            const before = (await commitTimes(cluster, all)).length;
            const restartedAt = Date.now();
            const { downMs, startMs, upAt, figures } = await round.restart();
            const after = (await commitTimes(cluster, all)).length;
            const resumeMs = await firstCommitAfter(cluster, all, upAt, 120_000);
            ctx.log(
              `${round.name}: ${before} commits before, ${after} after the restart; down ${downMs.toFixed(0)} ms, start ${startMs.toFixed(0)} ms, first commit ${resumeMs ?? '-'} ms after`,
            );
            const settled = await quiesced(cluster, all, ctx.quick ? 180_000 : 400_000);
            const verdict = await cluster.verify(all);
            const live = new Set(cluster.live.map((w) => w.name));
            const exited = workers.filter((w) => !live.has(w.name)).map((w) => w.name);
            const lost = verdict.lost + (exited.length > 0 ? 1 : 0);
            report({
              category: 'fault',
              name: round.name,
              tries: all.length,
              identical: Math.max(0, verdict.identical - (exited.length > 0 ? 1 : 0)),
              refused: 0,
              lost,
              note:
                `${all.length} docs (${round.late.length} submitted just before), ${figures}, Redis back ${((upAt - restartedAt) / 1000).toFixed(1)} s ` +
                `after (start/AOF load ${(startMs / 1000).toFixed(1)} s), first commit ${resumeMs === null ? 'none' : `${(resumeMs / 1000).toFixed(1)} s`} later; ` +
                `${before} commits before, ${after} once it answered again; ${verdict.duplicates} duplicate results` +
                (inTime ? '' : '; documents finished before the restart') +
                (settled ? '' : `; ${cluster.pending(all).length} never finished`) +
                (exited.length > 0 ? `; workers exited: ${exited.join(', ')}` : '') +
                (verdict.problems.length > 0 ? `; ${verdict.problems[0]}` : ''),
            });
          }
        },
      );
    } finally {
      await redis.destroy();
    }
  },
};
