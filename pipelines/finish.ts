// The end of a document: the task head runs on the final state, the result is stored (first one wins) and
// published, then the document's tokens and state are freed. Every step can be redone after a crash: the
// stored result is what gets published, and publishing is marked once done.
//
// With sections, the answer comes from the sections (read back from the result store, all of them, in order:
// the reduce over their summaries, or their token-weighted label distribution), from the final state, or
// both, as the task's `final` says; the result then describes the coverage.
import type { FinishJob } from '../schemas/jobs.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import { SectionResultSchema, type SectionResult } from '../schemas/results.ts';
import type { RnnState } from '../engine/index.ts';
import type { PipelineDeps } from './context.ts';
import { checkTokenizer, documentKey, sameChain } from './document-chunk.ts';
import { permanent } from './errors.ts';
import type { JobContext } from './ports.ts';
import { aggregateClassifications, reduceSummaries } from './reduce.ts';
import { finishJobReady, resumeDocument, runningStep } from './resume.ts';
import { documentResult, provenance, sectionCoverage, type SectionsOutput } from './results.ts';
import { sectionCount } from './sections.ts';
import { classify, runTask, summarize } from './tasks/index.ts';

export type FinishOutcome = 'finished' | 'republished' | 'skipped';

export async function finishDocument(job: FinishJob, deps: PipelineDeps, ctx: JobContext): Promise<FinishOutcome> {
  const planned = await deps.documents.get(job.doc);
  // A finish of an earlier reading of this id (read again after a failure) has nothing to do with this one.
  if (!planned || !sameChain(job, planned.record)) return 'skipped';
  const key = documentKey(job.doc);
  if (planned.status !== 'running') {
    // A redone finish after the status was set: make sure the result went out and the state is gone.
    await deps.states.drop(key);
    deps.checkpoints.forget(key);
    const stored = planned.status === 'done' ? await deps.results.getDocument(job.doc) : null;
    if (!stored || resumeDocument({ planned, head: null, stored }).step !== 'publish') return 'skipped';
    await deps.resultSink.publish(job.doc, stored.json);
    await deps.results.markDocumentPublished(job.doc);
    return 'republished';
  }
  const record = planned.record;
  checkTokenizer(record, deps);
  const { head, state } = await deps.checkpoints.load(key);
  if (!finishJobReady(runningStep(planned, head), record.chunks)) {
    throw permanent(
      'E_CHECKPOINT_GAP',
      `finishing ${record.id} needs all ${record.chunks} chunks; the checkpoint has ${head?.chunk ?? 0}`,
    );
  }
  const started = performance.now();
  const output = record.task.sections
    ? await sectionsOutput(record, state, deps)
    : await runTask(deps.engine, state, record.task, deps.liveText);
  const json = JSON.stringify(documentResult(record, provenance(deps.engine), output));
  const stored = await deps.results.saveDocument(record.id, json);
  if (!stored.published) {
    await deps.resultSink.publish(record.id, stored.json);
    await deps.results.markDocumentPublished(record.id);
  }
  // Done before the state is dropped: a finish redone in between finds "done" and only cleans up.
  await deps.documents.complete(record, 'done');
  await deps.states.drop(key);
  deps.checkpoints.forget(key);
  ctx.log.info(
    { task: record.task.kind, tokens: record.tokens, headMs: Math.round(performance.now() - started) },
    'document finished',
  );
  return 'finished';
}

/** Sections read from the result store per call. */
const SECTION_READ = 1024;

/** Every section result of a document, in order; a missing one is an error naming it. */
export async function readSections(
  record: DocumentRecord,
  count: number,
  deps: PipelineDeps,
): Promise<SectionResult[]> {
  const out: SectionResult[] = [];
  for (let from = 0; from < count; from += SECTION_READ) {
    const to = Math.min(count, from + SECTION_READ);
    const jsons = await deps.results.getSections(record.id, from, to);
    if (jsons.length < to - from) {
      throw permanent(
        'E_SECTION_MISSING',
        `section ${from + jsons.length} of ${count} of ${record.id} is not in the result store; ` +
          'every section is stored before the finish step is queued (has it expired?)',
      );
    }
    jsons.forEach((json, i) => {
      const parsed = SectionResultSchema.safeParse(parseJson(json));
      if (!parsed.success || parsed.data.section !== from + i || parsed.data.task !== record.task.kind) {
        throw permanent(
          'E_SECTION_INVALID',
          `the stored section ${from + i} of ${record.id} is not a ${record.task.kind} section result with that index`,
        );
      }
      out.push(parsed.data);
    });
  }
  return out;
}

/** The answer of a task with sections, with its coverage. `state` is the final state (advanced by a state head). */
async function sectionsOutput(record: DocumentRecord, state: RnnState, deps: PipelineDeps): Promise<SectionsOutput> {
  const task = record.task;
  const settings = task.sections!;
  const count = sectionCount(record.tokens, settings.every);
  const fromSections = settings.final !== 'state';
  const fromState = settings.final !== 'sections';
  const sections = fromSections ? await readSections(record, count, deps) : [];
  if (task.kind === 'summarize') {
    const reduce = task.sections!.reduce;
    // The document's answer is shown live: the reduced summary, or the final state's when it is the answer.
    const stateSummary = fromState
      ? await summarize(deps.engine, state, task, fromSections ? undefined : deps.liveText)
      : null;
    const reduced = fromSections
      ? await reduceSummaries(
          deps.engine,
          sections.map((s) => ('summary' in s ? s.summary.text : unreachable())),
          task,
          reduce,
          deps.liveText,
        )
      : null;
    const coverage = sectionCoverage(task.sections!, count, reduced?.levels ?? 0);
    if (!reduced) return { summary: stateSummary!, coverage };
    return stateSummary ? { summary: reduced.summary, stateSummary, coverage } : { summary: reduced.summary, coverage };
  }
  const stateClassification = fromState ? await classify(deps.engine, state, task) : null;
  const aggregated = fromSections
    ? aggregateClassifications(
        sections.map((s) => ({
          tokens: s.end - s.start,
          classification: 'classification' in s ? s.classification : unreachable(),
        })),
        task,
      )
    : null;
  const coverage = sectionCoverage(settings, count);
  if (!aggregated) return { classification: stateClassification!, coverage };
  return stateClassification
    ? { classification: aggregated, stateClassification, coverage }
    : { classification: aggregated, coverage };
}

/** readSections checked each section's task, so its answer is of the task's kind. */
function unreachable(): never {
  throw permanent('E_SECTION_INVALID', 'a section result does not hold the answer of its task');
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
