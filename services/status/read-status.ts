// Where a document or stream stands, read from what the pipeline already keeps in Redis: the result hash
// (result or failure record), the document's record, its parts, the checkpoint and its audit trail, and the
// BullMQ job running its next step (BullMQ records the worker that took a job under "pb").
import type { RedisClient } from '../adapters/redis/access.ts';

import type { Lane } from '../adapters/bullmq/job-queue.ts';
import { INBOX_QUEUE } from '../adapters/bullmq/inbox.ts';

import { FailureRecordSchema } from '../../schemas/results.ts';
import { DocumentRecordSchema } from '../../schemas/records.ts';
import {
  StatusReportSchema,
  type DocumentStatusReport,
  type StatusReport,
  type StreamStatusReport,
} from '../../schemas/status.ts';
import type { Keys } from '../adapters/redis/keys.ts';

/** Stages at which a document is refused as input rather than failed as work. */
const REFUSING_STAGES = new Set(['ingest', 'plan']);
/** Commits the rate is measured over. */
const RATE_COMMITS = 8;

interface Commit {
  chunk: number;
  tokens: number;
  writer: string;
  at: number;
}

/** The worker running one of this subject's jobs in a lane, if any (the active list is as long as the jobs running). */
async function holder(
  redis: RedisClient,
  prefix: string,
  lane: Lane | typeof INBOX_QUEUE,
  jobPrefixes: string[],
): Promise<string | null> {
  const active = await redis.lrange(`${prefix}:${lane}:active`, 0, -1);
  const mine = active.find((jobId) => jobPrefixes.some((p) => jobId.startsWith(p)));
  if (mine === undefined) return null;
  return (await redis.hget(`${prefix}:${lane}:${mine}`, 'pb')) ?? null;
}

async function recentCommits(redis: RedisClient, key: string): Promise<Commit[]> {
  const entries = await redis.lrange(key, -RATE_COMMITS, -1);
  return entries.flatMap((e) => {
    try {
      const c = JSON.parse(e) as Commit;
      return typeof c.tokens === 'number' && typeof c.at === 'number' ? [c] : [];
    } catch {
      return [];
    }
  });
}

/** Tokens per second between the oldest and newest of the recent commits. */
function rateOf(commits: Commit[]): number | null {
  if (commits.length < 2) return null;
  const first = commits[0]!;
  const last = commits.at(-1)!;
  const seconds = (last.at - first.at) / 1000;
  return seconds > 0 && last.tokens > first.tokens ? (last.tokens - first.tokens) / seconds : null;
}

export async function readDocumentStatus(redis: RedisClient, keys: Keys, id: string): Promise<DocumentStatusReport> {
  const doc = { id, kind: 'document' as const };
  const [[json, failure], [recordJson, status], [received, final]] = await Promise.all([
    redis.hmget(keys.result('document', id), 'json', 'failure'),
    redis.hmget(keys.record(id), 'record', 'status'),
    redis.hmget(keys.parts(id), 'received', 'final'),
  ]);
  const record = recordJson ? DocumentRecordSchema.parse(JSON.parse(recordJson)) : null;
  // A result wins over a failure: a later submission under the id succeeded.
  if (json) {
    const result = JSON.parse(json) as { tokens?: number; chunks?: number; task?: { kind?: string } };
    return {
      ...doc,
      state: 'done',
      tokens: result.tokens ?? record?.tokens ?? 0,
      chunks: result.chunks ?? record?.chunks ?? 0,
      task: result.task?.kind ?? record?.task.kind ?? 'unknown',
    };
  }
  if (failure && (!record || status !== 'running')) {
    const f = FailureRecordSchema.parse(JSON.parse(failure));
    return {
      ...doc,
      state: REFUSING_STAGES.has(f.stage) ? 'refused' : 'failed',
      stage: f.stage,
      code: f.code,
      message: f.message,
    };
  }
  if (record && status === 'running') {
    const commits = await recentCommits(redis, keys.audit({ kind: 'document', id }));
    const last = commits.at(-1);
    const tokens = last?.tokens ?? 0;
    const rate = rateOf(commits);
    const worker = await holder(redis, keys.queuePrefix, 'chunks', [`chunk~${id}~`, `finish~${id}`]);
    return {
      ...doc,
      state: 'running',
      chunk: last?.chunk ?? 0,
      chunks: record.chunks,
      tokens,
      totalTokens: record.tokens,
      rate,
      etaSeconds: rate ? Math.max(0, record.tokens - tokens) / rate : null,
      worker,
      lastWriter: last?.writer ?? null,
    };
  }
  // A document by reference is planned in the fetch lane, any other in the ingest lane.
  const planJobs = [`plan~${id}~`, `plan~${id}`];
  const planner =
    (await holder(redis, keys.queuePrefix, 'ingest', planJobs)) ??
    (await holder(redis, keys.queuePrefix, 'fetch', planJobs));
  // Without Kafka a part is taken in from the inbox queue: the worker doing it is receiving the document.
  const receiver = planner === null ? await holder(redis, keys.queuePrefix, INBOX_QUEUE, [`documents~${id}~`]) : null;
  if (planner !== null || receiver !== null || received !== null) {
    const parts = final ? Number(final) : null;
    const step =
      planner !== null
        ? 'planning'
        : receiver === null && parts !== null && Number(received) >= parts
          ? 'waiting'
          : 'receiving';
    return { ...doc, state: 'queued', step, partsReceived: Number(received ?? 0), parts, worker: planner ?? receiver };
  }
  return { ...doc, state: 'unknown' };
}

export async function readStreamStatus(redis: RedisClient, keys: Keys, id: string): Promise<StreamStatusReport> {
  const key = { kind: 'stream' as const, id };
  const [[batch, tokens], waiting, seq, result] = await Promise.all([
    redis.hmget(keys.checkpoint(key), 'chunk', 'tokens'),
    redis.xlen(keys.events(id)),
    redis.hget(keys.offsets(id), '#seq'),
    redis.hexists(keys.result('stream', id), 'json'),
  ]);
  if (batch === null && waiting === 0 && seq === null && result === 0) return { id, kind: 'stream', state: 'unknown' };
  const worker = await holder(redis, keys.queuePrefix, 'chunks', [`drain~${id}~`]);
  return {
    id,
    kind: 'stream',
    state: 'active',
    batches: Number(batch ?? 0),
    tokens: Number(tokens ?? 0),
    waiting,
    lastSequence: seq === null ? null : Number(seq),
    hasResult: result === 1,
    worker,
  };
}

export async function readStatus(
  redis: RedisClient,
  keys: Keys,
  kind: 'document' | 'stream',
  id: string,
): Promise<StatusReport> {
  const report =
    kind === 'document' ? await readDocumentStatus(redis, keys, id) : await readStreamStatus(redis, keys, id);
  return StatusReportSchema.parse(report);
}
