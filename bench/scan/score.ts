// Per-line surprise of a log, scored as `rwkvstream scan` scores it: one stream state that reads every line
// after the separator, in batches of lines, each line's surprise the mean nats per token given the lines
// before it (pipelines/tasks/anomaly.ts, the drain step's scoring).
import { scoreEvents } from '../../pipelines/tasks/anomaly.ts';
import { AnomalySettingsSchema } from '../../schemas/tasks.ts';
import type { Engine } from '../../engine/index.ts';

const DEFAULTS = AnomalySettingsSchema.parse({});

export interface ScoreOptions {
  batchLines?: number;
  separator?: string;
  maxLogitsTokens?: number;
  /** Called after each batch with its surprises (for timing how soon a batch is out). */
  onBatch?: (surprises: number[], firstLine: number) => void;
}

/** The surprise of each line (nats per token), read from a fresh state in order. Lines must not be empty. */
export async function scoreLines(engine: Engine, lines: string[], o: ScoreOptions = {}): Promise<number[]> {
  const batch = o.batchLines ?? DEFAULTS.batchEvents;
  const separator = engine.tokenizer.encodeSync(o.separator ?? DEFAULTS.separator);
  const state = engine.model.newState();
  const out: number[] = [];
  for (let start = 0; start < lines.length; start += batch) {
    const ids = await Promise.all(lines.slice(start, start + batch).map((l) => engine.tokenizer.encode(l)));
    const scored = await scoreEvents(engine, state, ids, separator, o.maxLogitsTokens ?? DEFAULTS.maxLogitsTokens);
    const surprises = scored.map((s) => s.surprise);
    o.onBatch?.(surprises, start);
    out.push(...surprises);
  }
  return out;
}
