// Event streams: a drain job reads the next batch of a stream's waiting events into the stream's state and
// scores them. The batch's result is committed together with the state (the checkpoint's outbox), so a crash
// between the commit and the publish loses nothing: the next drain publishes it first.
import type { DrainJob } from '../schemas/jobs.ts';
import type { EventScore } from '../schemas/results.ts';
import type { IngestDeps, PipelineDeps } from './context.ts';
import { forwardOf } from './forward-batcher.ts';
import type { JobContext, StateKey } from './ports.ts';
import { anomalyResult, provenance } from './results.ts';
import { eventText, scoreEvents } from './tasks/anomaly.ts';
import { carriedThreshold, judgeBatch, publishedResult } from './thresholds.ts';
import { advanceWindows, carriedWindow } from './windows.ts';

/**
 * Makes sure a drain is scheduled for a stream with `count` waiting events: now when a full batch waits,
 * otherwise when the oldest waiting event has waited `batchMs`. The job id is the stream's next batch index,
 * so any number of calls for one batch add one job.
 */
export async function scheduleDrain(
  deps: Pick<IngestDeps, 'queue' | 'settings'>,
  stream: string,
  batch: number,
  count: number,
  oldestAt: number | null,
  fromIngest: boolean,
): Promise<void> {
  if (count <= 0) return;
  const { batchEvents, batchMs } = deps.settings.anomaly;
  const job: DrainJob = { kind: 'drain', stream, batch };
  if (count >= batchEvents) {
    await deps.queue.enqueue(job);
    // A delayed job for this batch may exist already. Ingest checks only when the backlog crosses a multiple of
    // the batch size (a round trip per event would be wasted); after a commit it is one call per batch.
    if (!fromIngest || count % batchEvents === 0) await deps.queue.expedite(job);
    return;
  }
  const delayMs = oldestAt === null ? batchMs : Math.max(0, oldestAt + batchMs - Date.now());
  await deps.queue.enqueue(job, { delayMs });
}

async function publishStreamResult(
  key: StateKey,
  version: number,
  committed: string,
  deps: PipelineDeps,
): Promise<void> {
  const json = publishedResult(committed);
  await deps.resultSink.publish(key.id, json);
  await deps.results.saveStream(key.id, json);
  await deps.states.markPublished(key, version);
}

export type DrainOutcome = 'applied' | 'idle' | 'superseded';

export async function runDrain(job: DrainJob, deps: PipelineDeps, ctx: JobContext): Promise<DrainOutcome> {
  const key: StateKey = { kind: 'stream', id: job.stream };
  const { settings, engine } = deps;
  const head = await deps.states.head(key);
  if (head?.result != null && !head.published) {
    ctx.log.info({ version: head.version }, 'publishing the result a previous drain committed');
    await publishStreamResult(key, head.version, head.result, deps);
  }
  const cursor = head?.cursor ?? 0;
  const events = await deps.events.read(job.stream, cursor, settings.anomaly.batchEvents);
  if (events.length === 0) return 'idle';

  const loaded = await deps.checkpoints.load(key);
  if ((loaded.head?.version ?? 0) !== (head?.version ?? 0)) return 'superseded';
  const state = loaded.state;
  const started = performance.now();
  const tokensBefore = state.tokens;
  const ids = await Promise.all(events.map((e) => engine.tokenizer.encode(e.text)));
  const separator = engine.tokenizer.encodeSync(settings.anomaly.separator);
  const surprises = await scoreEvents(engine, state, ids, separator, settings.anomaly.maxLogitsTokens, forwardOf(deps));
  deps.telemetry.chunk('stream', state.tokens - tokensBefore, (performance.now() - started) / 1000);

  // The adaptive threshold and the open window continue from the committed result this batch is fenced on.
  const judged = judgeBatch(
    surprises.map((s) => s.surprise),
    settings.anomaly,
    carriedThreshold(head?.result ?? null),
  );
  const scores: EventScore[] = events.map((e, i) => ({
    seq: e.seq,
    ...(e.id === undefined ? {} : { id: e.id }),
    topic: e.topic,
    partition: e.partition,
    offset: e.offset,
    tokens: surprises[i]!.tokens,
    surprise: surprises[i]!.surprise,
    alert: judged.judged[i]!.alert,
    ...(judged.judged[i]!.threshold === undefined ? {} : { threshold: judged.judged[i]!.threshold }),
    ...eventText(e.text, settings.anomaly.eventText),
  }));
  const batch = head?.chunk ?? 0;
  const lastSeq = events[events.length - 1]!.seq;
  const { windowEvents, topEvents } = settings.anomaly;
  const windows =
    windowEvents > 0
      ? advanceWindows(carriedWindow(head?.result ?? null), scores, { windowEvents, topEvents })
      : undefined;
  const result = anomalyResult(
    job.stream,
    provenance(engine),
    batch,
    state.tokens,
    judged.threshold,
    scores,
    windows,
    judged.state,
  );
  const json = JSON.stringify(result);
  const outcome = await deps.checkpoints.commit(key, head, state, { chunk: batch + 1, cursor: lastSeq, result: json });
  if (!outcome.ok) {
    ctx.log.warn(
      { expected: head?.version ?? 0, current: outcome.current },
      'another drain committed this batch first',
    );
    return 'superseded';
  }
  await publishStreamResult(key, outcome.version, json, deps);
  await deps.events.trim(job.stream, lastSeq);
  const backlog = await deps.events.backlog(job.stream, lastSeq);
  await scheduleDrain(deps, job.stream, batch + 1, backlog.count, backlog.oldestAt, false);
  const alerts = scores.filter((s) => s.alert).length;
  ctx.log.info(
    { batch, events: events.length, alerts, tokens: state.tokens, windowsClosed: windows?.windows.length ?? 0 },
    'stream batch scored',
  );
  return 'applied';
}
