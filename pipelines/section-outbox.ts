// The chunk job's part in sections: which sections end inside a chunk, answering each on a fork of the state,
// and delivering the answers once they are committed with the state (the checkpoint's outbox).
//
// Delivery order is what makes a crash harmless: each section is stored (the first stored JSON wins), the
// stored JSON is published, and only when all of them are out is the outbox marked published and the successor
// enqueued. A run that dies anywhere in between is redone from the outbox and stores nothing new; one that dies
// between a publish and the mark publishes the same bytes again (consumers deduplicate by id and section).
import { z } from 'zod';

import type { DocumentRecord } from '../schemas/records.ts';
import { SectionResultSchema } from '../schemas/results.ts';
import type { RnnState } from '../engine/index.ts';
import type { PipelineDeps } from './context.ts';
import { permanent } from './errors.ts';
import { provenance, sectionResult } from './results.ts';
import {
  boundariesReaching,
  boundarySpan,
  findBoundary,
  sectionCount,
  type Boundary,
  type Section,
  type TokenSpan,
} from './sections.ts';
import { classify, summarize } from './tasks/index.ts';

export interface ChunkTokens {
  /** Token ids [start, end) of the chunk. */
  tokens: Int32Array;
  /** The sections whose end lies in (start, end], in order. */
  sections: Section[];
}

/** Reads a chunk's tokens and finds the sections that end in it (none without sections). */
export async function readChunkWithSections(
  record: DocumentRecord,
  start: number,
  end: number,
  deps: PipelineDeps,
): Promise<ChunkTokens> {
  const layout = record.task.sections;
  const ks = layout ? boundariesReaching(start, end, layout, record.tokens) : [];
  if (!layout || ks.length === 0) return { tokens: await deps.documents.readTokens(record, start, end), sections: [] };

  // One read covers the chunk and the windows reaching into it; the boundary before the first of them may lie
  // far back (a section longer than a chunk) and is read on its own when it does.
  let from = start;
  let to = end;
  for (const k of ks) {
    const need = boundarySpan(k, layout, record.tokens);
    if (need.to > need.from) {
      from = Math.min(from, need.from);
      to = Math.max(to, need.to);
    }
  }
  const span: TokenSpan = { offset: from, ids: await deps.documents.readTokens(record, from, to) };
  const tokenBytes = (id: number) => deps.engine.tokenizer.decodeBytes([id]);
  const boundary = (k: number, within: TokenSpan): Boundary =>
    findBoundary(k, layout, record.tokens, within, tokenBytes);

  const first = ks[0]! - 1;
  const firstNeed = boundarySpan(first, layout, record.tokens);
  const covered = firstNeed.to <= firstNeed.from || (firstNeed.from >= from && firstNeed.to <= to);
  const before = covered
    ? boundary(first, span)
    : boundary(first, {
        offset: firstNeed.from,
        ids: await deps.documents.readTokens(record, firstNeed.from, firstNeed.to),
      });

  const count = sectionCount(record.tokens, layout.every);
  const sections: Section[] = [];
  let previous = before.position;
  for (const k of ks) {
    const b = boundary(k, span);
    if (b.position > start && b.position <= end)
      sections.push({ index: k - 1, start: previous, end: b.position, boundary: b.kind });
    previous = b.position;
  }
  if (sections.some((s) => s.index >= count || s.end <= s.start)) {
    throw permanent(
      'E_SECTION_LAYOUT',
      `the sections of ${record.id} found in tokens [${start}, ${end}) are not in order`,
    );
  }
  return { tokens: span.ids.subarray(start - from, end - from), sections };
}

/**
 * Answers each section on a copy of the state at its end. `advanceTo(position)` runs the main state up to the
 * position and returns it; the heads only ever see a clone, so the main state is the one a run without sections has.
 * Returns the section results (JSON), in order.
 */
export async function runSectionHeads(
  record: DocumentRecord,
  sections: readonly Section[],
  deps: PipelineDeps,
  advanceTo: (position: number) => Promise<RnnState>,
): Promise<string[]> {
  const task = record.task;
  const settings = task.sections;
  if (!settings) throw permanent('E_SECTION_LAYOUT', `the task of ${record.id} has no sections`);
  const count = sectionCount(record.tokens, settings.every);
  const from = provenance(deps.engine);
  const out: string[] = [];
  for (const section of sections) {
    const fork = (await advanceTo(section.end)).clone();
    const output =
      task.kind === 'summarize'
        ? {
            summary: await summarize(deps.engine, fork, {
              ...task,
              template: settings.template,
              maxTokens: task.sections!.maxTokens,
            }),
          }
        : { classification: await classify(deps.engine, fork, { ...task, template: settings.template }) };
    out.push(JSON.stringify(sectionResult(record, from, section, count, settings.template, output)));
  }
  return out;
}

const OutboxSchema = z.array(z.string());

/** Stores, publishes and then marks published the section results committed with checkpoint `version`. */
export async function publishSectionOutbox(
  record: DocumentRecord,
  version: number,
  outbox: string,
  deps: PipelineDeps,
): Promise<void> {
  for (const json of parseOutbox(record.id, outbox)) {
    const section = sectionIndex(record.id, json);
    const stored = await deps.results.saveSection(record.id, section, json);
    await deps.resultSink.publish(record.id, stored);
  }
  await deps.states.markPublished({ kind: 'document', id: record.id }, version);
}

function parseOutbox(id: string, outbox: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(outbox);
  } catch (err) {
    throw permanent(
      'E_OUTBOX',
      `the checkpoint outbox of ${id} is not JSON; expected an array of section results`,
      err,
    );
  }
  const parsed = OutboxSchema.safeParse(value);
  if (!parsed.success)
    throw permanent('E_OUTBOX', `the checkpoint outbox of ${id} is not an array of section result JSON strings`);
  return parsed.data;
}

function sectionIndex(id: string, json: string): number {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw permanent('E_OUTBOX', `the checkpoint outbox of ${id} holds a section result that is not JSON`, err);
  }
  const parsed = SectionResultSchema.safeParse(value);
  if (!parsed.success || parsed.data.id !== id) {
    throw permanent('E_OUTBOX', `the checkpoint outbox of ${id} holds something that is not a section result of ${id}`);
  }
  return parsed.data.section;
}
