// Building the result messages. Results carry the provenance (model and tokenizer fingerprints) and no
// timestamps, so the same input always gives the same bytes.
import {
  RESULT_SCHEMA_V1,
  type AnomalyResult,
  type ClassificationOutput,
  type DocumentResult,
  type EventScore,
  type Provenance,
  type SummaryOutput,
} from '../schemas/results.ts';
import type { DocumentRecord } from '../schemas/records.ts';
import type { Engine } from '../services/engine/index.ts';

export function provenance(engine: Engine): Provenance {
  return {
    model: { version: engine.model.info.version, fingerprint: engine.model.info.fingerprint },
    tokenizer: { kind: engine.tokenizer.info.kind, fingerprint: engine.tokenizer.info.fingerprint },
  };
}

export function documentResult(
  record: DocumentRecord,
  from: Provenance,
  output: { summary: SummaryOutput } | { classification: ClassificationOutput },
): DocumentResult {
  const base = {
    schema: RESULT_SCHEMA_V1,
    kind: 'document',
    id: record.id,
    ...from,
    tokens: record.tokens,
    chunks: record.chunks,
    chunkTokens: record.chunkTokens,
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
  threshold: number,
  events: EventScore[],
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
  };
}
