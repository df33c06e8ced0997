// When a scored event is an alert. A fixed threshold is one number for every stream; but what is surprising
// depends on the stream and the model (a byte-level model finds every line of a log a few nats per token), so
// the default is adaptive: an event is an alert when its surprise is above the stream's own running
// (1 - alertRate) quantile, once the stream has had warmupEvents events.
//
// The quantile comes from a histogram of the stream's past surprises, in bins of 1/256 nat from 0 to 32 nats
// (higher surprises share the last bin): fine enough for a stream whose lines all score within a tenth of a nat.
// Each event adds WEIGHT to its bin's integer count; when the counts reach HISTORY events' worth they are halved
// (rounding down), so the threshold follows a stream that changes while old history fades (the weight keeps the
// rounding from wiping out the rare bins, which are the tail the threshold is read from). Each event is judged against the history before it, then added: the alerts do not depend on how the events were cut
// into batches. The histogram travels in every batch result, which is the checkpoint's outbox (as the open
// window does, see windows.ts): a retried, resumed or taken-over drain starts from the committed histogram and
// applies the same integer arithmetic, so it alerts exactly as an undisturbed run would. It is the stream's
// own bookkeeping, so it is left out of the results that are published (publishedResult).
import { z } from 'zod';

import { ThresholdStateSchema, type ThresholdState } from '../schemas/results.ts';
import type { AnomalySettings } from '../schemas/tasks.ts';
import { permanent } from './errors.ts';

/** Bins per nat: a power of two, so bin edges are exact doubles. */
const BINS_PER_NAT = 256;
const BINS = 32 * BINS_PER_NAT;
/** Events counted in all before the counts are halved: about this many recent events shape the threshold. */
export const HISTORY = 8192;
/** What one event adds to its bin (a power of two: halving it ten times leaves it whole). */
const WEIGHT = 1024;

export interface Judged {
  alert: boolean;
  /** The threshold the event was compared with; undefined while the stream warms up (adaptive mode). */
  threshold: number | undefined;
}

function binOf(surprise: number): number {
  if (!(surprise > 0)) return 0;
  return Math.min(BINS - 1, Math.floor(surprise * BINS_PER_NAT));
}

/** A stream's adaptive threshold while a batch is judged: the committed histogram, unpacked. */
export class AdaptiveThreshold {
  readonly #counts = new Uint32Array(BINS);
  #total = 0;
  #seen: number;
  readonly #rate: number;
  readonly #warmup: number;

  constructor(state: ThresholdState | null, rate: number, warmup: number) {
    this.#rate = rate;
    this.#warmup = warmup;
    this.#seen = state?.seen ?? 0;
    for (const [bin, count] of state?.bins ?? []) {
      this.#counts[bin] = count;
      this.#total += count;
    }
  }

  /**
   * The upper edge of the bin holding the (1 - rate) quantile of the history: the smallest edge with at least
   * that share of the counts at or below it. Surprises above it are, in the long run, about `rate` of them.
   */
  current(): number | undefined {
    if (this.#seen < this.#warmup || this.#total === 0) return undefined;
    const below = Math.ceil((1 - this.#rate) * this.#total);
    let sum = 0;
    for (let bin = 0; bin < BINS; bin++) {
      sum += this.#counts[bin]!;
      if (sum >= below) return (bin + 1) / BINS_PER_NAT;
    }
    return BINS / BINS_PER_NAT;
  }

  /** Judges an event against the history so far, then adds it to the history. */
  judge(surprise: number): Judged {
    const threshold = this.current();
    this.#add(surprise);
    return { alert: threshold !== undefined && surprise > threshold, threshold };
  }

  #add(surprise: number): void {
    this.#counts[binOf(surprise)]! += WEIGHT;
    this.#total += WEIGHT;
    this.#seen++;
    if (this.#total < HISTORY * WEIGHT) return;
    this.#total = 0;
    for (let bin = 0; bin < BINS; bin++) {
      this.#counts[bin] = this.#counts[bin]! >>> 1;
      this.#total += this.#counts[bin]!;
    }
  }

  /** The histogram to commit: its non-empty bins in order. */
  state(): ThresholdState {
    const bins: [number, number][] = [];
    this.#counts.forEach((count, bin) => {
      if (count > 0) bins.push([bin, count]);
    });
    return { seen: this.#seen, bins };
  }
}

export interface JudgedBatch {
  judged: Judged[];
  /** The threshold after the batch (null: still warming up), and the histogram to commit; fixed mode: no state. */
  threshold: number | null;
  state: ThresholdState | undefined;
}

/** Judges a batch's surprises, in order, with the stream's committed threshold state. */
export function judgeBatch(
  surprises: readonly number[],
  settings: AnomalySettings,
  carried: ThresholdState | null,
): JudgedBatch {
  const rule = settings.threshold;
  if (rule !== 'auto') {
    return {
      judged: surprises.map((s) => ({ alert: s > rule, threshold: undefined })),
      threshold: rule,
      state: undefined,
    };
  }
  const adaptive = new AdaptiveThreshold(carried, settings.alertRate, settings.warmupEvents);
  const judged = surprises.map((s) => adaptive.judge(s));
  return { judged, threshold: adaptive.current() ?? null, state: adaptive.state() };
}

/** Only the field a drain continues from; the rest of the committed result is not judged here. */
const CarriedSchema = z.object({ thresholdState: ThresholdStateSchema.optional() });

/**
 * The threshold state a stream's last committed batch result carries: null when there is no result yet, or
 * the result has none (the stream was judged with a fixed threshold until now).
 */
export function carriedThreshold(committedResult: string | null): ThresholdState | null {
  if (committedResult === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(committedResult);
  } catch (err) {
    throw permanent('E_THRESHOLD_STATE', "expected the stream's last committed batch result to be JSON", err);
  }
  const carried = CarriedSchema.safeParse(parsed);
  if (!carried.success) {
    const issue = carried.error.issues[0]!;
    throw permanent(
      'E_THRESHOLD_STATE',
      "expected the threshold state in the stream's last committed batch result to be a " +
        `histogram (thresholdState.${issue.path.join('.')}: ${issue.message})`,
    );
  }
  return carried.data.thresholdState ?? null;
}

/** A committed batch result as it is published: without the threshold state, which only the next batch reads. */
export function publishedResult(committed: string): string {
  if (!committed.includes('"thresholdState"')) return committed;
  const { thresholdState: _own, ...rest } = JSON.parse(committed) as Record<string, unknown>;
  return JSON.stringify(rest);
}
