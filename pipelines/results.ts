// Building the result messages. Results carry the provenance (model and tokenizer fingerprints) and no
// timestamps, so the same input always gives the same bytes.
import {
  RESULT_SCHEMA_V1,
  type AnomalyResult,
  type ClassificationOutput,
  type ClassifyCoverage,
  type DocumentResult,
  type EventScore,
  type Provenance,
  type SectionResult,
  type SummarizeCoverage,
  type SummaryOutput,
  type ThresholdState,
} from '../schemas/results.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import type { SectionSettings, SummarizeSections } from '../schemas/tasks.ts';
import type { Section } from './sections.ts';
import type { Engine } from '../engine/index.ts';
import type { WindowsOutput } from './windows.ts';

export function provenance(engine: Engine): Provenance {
  return {
    model: { version: engine.model.info.version, fingerprint: engine.model.info.fingerprint },
    tokenizer: { kind: engine.tokenizer.info.kind, fingerprint: engine.tokenizer.info.fingerprint },
  };
}

/** What a document's result says beyond its answer when the task has sections. */
export type SectionsOutput =
  | { summary: SummaryOutput; stateSummary?: SummaryOutput; coverage: SummarizeCoverage }
  | { classification: ClassificationOutput; stateClassification?: ClassificationOutput; coverage: ClassifyCoverage };

export function documentResult(
  record: DocumentRecord,
  from: Provenance,
  output: { summary: SummaryOutput } | { classification: ClassificationOutput } | SectionsOutput,
): DocumentResult {
  const base = {
    schema: RESULT_SCHEMA_V1,
    kind: 'document',
    id: record.id,
    ...from,
    tokens: record.tokens,
    chunks: record.chunks,
    chunkTokens: record.chunkTokens,
    // Raw (plain completion) results keep the exact keys of results made before prompt formats existed.
    ...(record.task.promptFormat === 'raw' ? {} : { promptFormat: record.task.promptFormat }),
  } as const;
  // Without sections the keys and their order are exactly those of results made before sections existed.
  return 'summary' in output ? { ...base, task: 'summarize', ...output } : { ...base, task: 'classify', ...output };
}

/** The coverage part of a document result: the section options in force, with the count and reduce levels. */
export function sectionCoverage(settings: SummarizeSections, sections: number, levels: number): SummarizeCoverage;
export function sectionCoverage(settings: SectionSettings, sections: number): ClassifyCoverage;
export function sectionCoverage(
  settings: SectionSettings | SummarizeSections,
  sections: number,
  levels = 0,
): SummarizeCoverage | ClassifyCoverage {
  const common = {
    every: settings.every,
    slack: settings.slack,
    boundaries: settings.boundaries,
    sections,
    final: settings.final,
    template: settings.template,
  };
  if (!('reduce' in settings)) return common;
  const { fanIn, prompt, entry, template } = settings.reduce;
  return { ...common, maxTokens: settings.maxTokens, reduce: { fanIn, levels, prompt, entry, template } };
}

/** A section's partial result: its token range, the kind of break it ends at, and the head's answer on the fork. */
export function sectionResult(
  record: DocumentRecord,
  from: Provenance,
  section: Section,
  sections: number,
  template: string,
  output: { summary: SummaryOutput } | { classification: ClassificationOutput },
): SectionResult {
  const base = {
    schema: RESULT_SCHEMA_V1,
    kind: 'section',
    id: record.id,
    ...from,
    section: section.index,
    sections,
    start: section.start,
    end: section.end,
    boundary: section.boundary,
    template,
  } as const;
  return 'summary' in output
    ? { ...base, task: 'summarize', summary: output.summary }
    : { ...base, task: 'classify', classification: output.classification };
}

export function anomalyResult(
  stream: string,
  from: Provenance,
  batch: number,
  tokens: number,
  threshold: number | null,
  events: EventScore[],
  /** Only when windows are on: a result without them keeps its exact bytes. */
  windows?: WindowsOutput,
  /** Only with the adaptive threshold: the history the next batch continues from. */
  thresholdState?: ThresholdState,
): AnomalyResult {
  return {
    schema: RESULT_SCHEMA_V1,
    kind: 'stream',
    id: stream,
    task: 'anomaly',
    ...from,
    batch,
    tokens,
    threshold,
    events,
    alerts: events.filter((e) => e.alert).length,
    ...(windows === undefined ? {} : { windows: windows.windows, openWindow: windows.openWindow }),
    ...(thresholdState === undefined ? {} : { thresholdState }),
  };
}
