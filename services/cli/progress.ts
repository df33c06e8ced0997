// Progress of long work (tokens read, bytes downloaded): a bar redrawn in place on a terminal, a plain line
// every few seconds when stderr is a file or a pipe (logs stay readable), nothing when quiet. The estimate
// and the text are pure functions of (done, total, time), kept apart from the writing so both are testable
// with a fake clock and a fake stream.
import { formatBytes } from '../models/format.ts';
import type { PullProgress } from '../models/pull.ts';

export type ProgressUnit = 'tokens' | 'bytes';

// ---- estimation -------------------------------------------------------------------------------------------

/**
 * Rate as an exponentially weighted average whose weight depends on elapsed time, not on the number of
 * updates: a pipeline that reports every 4096-token chunk and a download that reports every 64 KiB get the
 * same smoothing, and a pause pulls the estimate down as it lasts.
 */
export class RateMeter {
  readonly #halfLifeMs: number;
  #rate: number | undefined;
  #lastDone: number | undefined;
  #lastAt: number | undefined;

  constructor(halfLifeMs = 5000) {
    this.#halfLifeMs = halfLifeMs;
  }

  /** Units per second; undefined until some time has passed since the first sample. */
  get rate(): number | undefined {
    return this.#rate;
  }

  sample(done: number, atMs: number): void {
    if (this.#lastAt === undefined || this.#lastDone === undefined) {
      this.#lastDone = done;
      this.#lastAt = atMs;
      return;
    }
    const dt = atMs - this.#lastAt;
    // Samples at the same instant are folded into the next one that has a duration.
    if (dt <= 0) return;
    const instant = (Math.max(0, done - this.#lastDone) / dt) * 1000;
    const weight = 1 - 2 ** (-dt / this.#halfLifeMs);
    this.#rate = this.#rate === undefined ? instant : this.#rate + weight * (instant - this.#rate);
    this.#lastDone = done;
    this.#lastAt = atMs;
  }
}

export interface ProgressView {
  label: string;
  unit: ProgressUnit;
  done: number;
  total: number | undefined;
  /** Units per second. */
  rate: number | undefined;
  elapsedMs: number;
}

export function etaMs(view: ProgressView): number | undefined {
  if (view.total === undefined || view.rate === undefined || view.rate <= 0) return undefined;
  return (Math.max(0, view.total - view.done) / view.rate) * 1000;
}

// ---- text -------------------------------------------------------------------------------------------------

/** 950 -> "950", 12345 -> "12.3k", 4_000_000 -> "4.00M". */
export function formatCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  for (const [limit, suffix] of [
    [1e6, 'k'],
    [1e9, 'M'],
    [1e12, 'B'],
  ] as const) {
    const scaled = n / (limit / 1000);
    if (scaled < 999.5) return `${scaled.toPrecision(3)}${suffix}`;
  }
  return `${(n / 1e12).toPrecision(3)}T`;
}

export function formatAmount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(n) : `${formatCount(n)} tokens`;
}

export function formatRate(rate: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? `${formatBytes(rate)}/s` : `${formatCount(rate)} tok/s`;
}

/** 42s, 3m05s, 2h07m. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function amounts(view: ProgressView): string {
  if (view.total === undefined) return formatAmount(view.done, view.unit);
  const done = view.unit === 'bytes' ? formatBytes(view.done) : formatCount(view.done);
  return `${done} / ${formatAmount(view.total, view.unit)}`;
}

function percent(view: ProgressView): string | undefined {
  if (view.total === undefined || view.total <= 0) return undefined;
  return `${((100 * Math.min(view.done, view.total)) / view.total).toFixed(1)}%`;
}

/** The figures after the label: "1.23M / 4.00M tokens  30.7%  1.20k tok/s  ETA 38m12s". */
function figures(view: ProgressView): string {
  const eta = etaMs(view);
  return [
    amounts(view),
    percent(view),
    view.rate !== undefined ? formatRate(view.rate, view.unit) : undefined,
    eta !== undefined ? `ETA ${formatDuration(eta)}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join('  ');
}

/** One self-contained line, for logs. */
export function formatLine(view: ProgressView): string {
  return `${view.label}: ${figures(view)}`;
}

/** The terminal bar, cut to `columns`; the bar itself shrinks first, then the text is truncated. */
export function formatBar(view: ProgressView, columns: number): string {
  const text = figures(view);
  const room = columns - view.label.length - text.length - 5;
  if (view.total !== undefined && view.total > 0 && room >= 10) {
    const width = Math.min(40, room);
    const filled = Math.round((width * Math.min(view.done, view.total)) / view.total);
    return `${view.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`;
  }
  return `${view.label} ${text}`.slice(0, Math.max(0, columns - 1));
}

/** The closing line: how much, how long, how fast on average. */
export function formatSummary(view: ProgressView, startDone = 0): string {
  const seconds = view.elapsedMs / 1000;
  const average = seconds > 0 ? ` (${formatRate((view.done - startDone) / seconds, view.unit)})` : '';
  return `${view.label}: ${formatAmount(view.done, view.unit)} in ${formatDuration(view.elapsedMs)}${average}`;
}

// ---- output -----------------------------------------------------------------------------------------------

/** What the reporter writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  label: string;
  unit?: ProgressUnit;
  total?: number;
  /** Where counting starts (a resumed download, a document resumed from a checkpoint). */
  initial?: number;
  stream?: ProgressStream;
  quiet?: boolean;
  /** Plain mode: one line at most this often (and one at the end). Default 5000. */
  intervalMs?: number;
  /** Terminal mode: redraws at most this often. Default 100. */
  redrawMs?: number;
  halfLifeMs?: number;
  now?: () => number;
}

export class Progress {
  readonly #label: string;
  readonly #unit: ProgressUnit;
  readonly #stream: ProgressStream;
  readonly #mode: 'tty' | 'lines' | 'quiet';
  readonly #intervalMs: number;
  readonly #redrawMs: number;
  readonly #now: () => number;
  readonly #meter: RateMeter;
  readonly #startedAt: number;
  readonly #startDone: number;
  #total: number | undefined;
  #done: number;
  #lastWrite: number;
  #finished = false;

  constructor(options: ProgressOptions) {
    this.#label = options.label;
    this.#unit = options.unit ?? 'tokens';
    this.#stream = options.stream ?? process.stderr;
    this.#mode = options.quiet ? 'quiet' : this.#stream.isTTY ? 'tty' : 'lines';
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#redrawMs = options.redrawMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#meter = new RateMeter(options.halfLifeMs);
    this.#total = options.total;
    this.#done = options.initial ?? 0;
    this.#startDone = this.#done;
    this.#startedAt = this.#now();
    this.#lastWrite = this.#startedAt;
    this.#meter.sample(this.#done, this.#startedAt);
  }

  get mode(): 'tty' | 'lines' | 'quiet' {
    return this.#mode;
  }

  view(): ProgressView {
    return {
      label: this.#label,
      unit: this.#unit,
      done: this.#done,
      total: this.#total,
      rate: this.#meter.rate,
      elapsedMs: this.#now() - this.#startedAt,
    };
  }

  /** Sets the amount done (and the total, when it becomes known late). */
  update(done: number, total?: number): void {
    if (this.#finished) return;
    this.#done = done;
    if (total !== undefined) this.#total = total;
    const now = this.#now();
    this.#meter.sample(done, now);
    if (this.#mode === 'tty' && now - this.#lastWrite >= this.#redrawMs) {
      // A pty without a size reports 0 columns: draw for a standard 80-column terminal then.
      this.#stream.write(`\r${formatBar(this.view(), this.#stream.columns || 80)}\x1b[K`);
      this.#lastWrite = now;
    } else if (this.#mode === 'lines' && now - this.#lastWrite >= this.#intervalMs) {
      this.#stream.write(`${formatLine(this.view())}\n`);
      this.#lastWrite = now;
    }
  }

  advance(amount: number): void {
    this.update(this.#done + amount);
  }

  /**
   * Clears a terminal's bar line, so that output printed now (a section's result) starts on a clean line; the
   * next update draws the bar again below it.
   */
  clearLine(): void {
    if (this.#finished || this.#mode !== 'tty') return;
    this.#stream.write('\r\x1b[K');
    this.#lastWrite = -Infinity;
  }

  /** Ends the report with the summary line (the bar is replaced by it on a terminal). */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#mode === 'quiet') return;
    const summary = formatSummary(this.view(), this.#startDone);
    this.#stream.write(this.#mode === 'tty' ? `\r${summary}\x1b[K\n` : `${summary}\n`);
  }

  /** Ends the report without a summary (the work failed): a terminal's bar line is cleared. */
  stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#mode === 'tty') this.#stream.write('\r\x1b[K');
  }
}

export interface DownloadProgressOptions {
  quiet?: boolean;
  stream?: ProgressStream;
  now?: () => number;
}

/**
 * Progress of model downloads (`models pull`, or resolveModel fetching the default model): one bar or line
 * series per file, started when the file's first bytes arrive. Call end() when the pull returns or fails.
 */
export function downloadProgress(options: DownloadProgressOptions = {}): {
  onProgress: (p: PullProgress) => void;
  end: () => void;
} {
  let current: { file: string; progress: Progress } | undefined;
  return {
    onProgress(p) {
      if (current?.file !== p.file) {
        current?.progress.finish();
        const progress = new Progress({
          label: p.file,
          unit: 'bytes',
          initial: p.done,
          ...(p.total !== undefined ? { total: p.total } : {}),
          ...options,
        });
        current = { file: p.file, progress };
      }
      current.progress.update(p.done, p.total);
    },
    end() {
      current?.progress.finish();
      current = undefined;
    },
  };
}
