// Printing a job's results: as they are with --json (one JSON per line, the distributed results' schema), else
// as text. Sections are printed as they are made; the progress report is closed before the final results, so
// its last line comes before them. A summary shown live (`live`) is printed as it is generated; the result
// then only completes it (a job that had already finished, resumed only to print, prints it whole).
import {
  AnomalyResultSchema,
  DocumentResultSchema,
  SectionResultSchema,
  type AnomalyResult,
} from '../../schemas/results.ts';
import type { TextListener } from '../../pipelines/tasks/index.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import type { Deliver } from '../embedded/index.ts';
import type { SectionOutput } from '../embedded/section-feed.ts';
import { print, type ProgressReporter } from './embedded-command.ts';
import {
  SCAN_HEADER,
  classificationText,
  scanSummaryText,
  scoredLineText,
  sectionText,
  summaryText,
} from './result-text.ts';
import { WindowLines } from './window-text.ts';

export interface DocumentOutput {
  /** Prints a section result as soon as it is made, while the progress report goes on. */
  section: SectionOutput;
  /** Prints the document's result at the end. */
  deliver: Deliver;
  /** With `live`: prints the answer's text as it is generated. */
  liveText?: TextListener;
}

/** The answer printed as it comes: the progress report closed first, the answer's leading whitespace left out. */
class LiveSummary {
  started = false;
  readonly #reporter: ProgressReporter;
  readonly #header: string;

  constructor(reporter: ProgressReporter, header: string) {
    this.#reporter = reporter;
    this.#header = header;
  }

  readonly text: TextListener = (piece) => {
    const shown = this.started ? piece : piece.trimStart();
    if (shown.length === 0) return;
    if (!this.started) {
      this.started = true;
      this.#reporter.finish();
      void print(this.#header);
    }
    void print(shown);
  };
}

export function documentOutput(
  json: boolean,
  reporter: ProgressReporter,
  live = false,
  task?: DocumentTask,
): DocumentOutput {
  // With final: 'both' the live text is the answer from the sections, printed under its heading.
  const header = task?.sections?.final === 'both' ? 'from the sections:\n' : '';
  const summary = live && !json ? new LiveSummary(reporter, header) : null;
  return {
    section: async (line) => {
      reporter.beforeOutput();
      await print(json ? `${line}\n` : sectionText(SectionResultSchema.parse(JSON.parse(line))));
    },
    deliver: deliverDocument(json, reporter, summary),
    ...(summary ? { liveText: summary.text } : {}),
  };
}

function deliverDocument(json: boolean, reporter: ProgressReporter, live: LiveSummary | null): Deliver {
  return async (results) => {
    reporter.finish();
    for await (const line of results) {
      if (json) {
        await print(`${line}\n`);
        continue;
      }
      const result = DocumentResultSchema.parse(JSON.parse(line));
      if (result.task === 'summarize' && live?.started) {
        // The answer is on the screen already: end its line, and add the final state's summary if there is one.
        await print(
          result.stateSummary === undefined ? '\n' : `\n\nfrom the final state:\n${result.stateSummary.text.trim()}\n`,
        );
        continue;
      }
      await print(result.task === 'summarize' ? summaryText(result) : classificationText(result));
    }
  };
}

export interface ScanOutput {
  json: boolean;
  /** Only the lines that raised an alert (text), or only those events in each batch (JSON). */
  alertsOnly: boolean;
  /** The fixed threshold, or the adaptive rule's settings. */
  threshold: number | 'auto';
  alertRate: number;
  warmupEvents: number;
}

export interface ScanPrinter {
  /** Prints a batch result as soon as it is scored. */
  batch(json: string): Promise<void>;
  /** After the last batch: the input ended (`ended`), or the scan was stopped. */
  end(ended: boolean): Promise<void>;
}

/** Only the alerts of a batch; null when it has none and closed no window (nothing to say). */
function alertsOf(batch: AnomalyResult): AnomalyResult | null {
  const events = batch.events.filter((e) => e.alert);
  if (events.length === 0 && (batch.windows ?? []).length === 0) return null;
  return { ...batch, events };
}

/**
 * Prints a scan as it goes: with --json each batch result as one line, flushed; as text a header, then each
 * scored line (its text escaped), the windows each closes, and at the end the window left open and a count.
 */
export function scanPrinter(output: ScanOutput, reporter: ProgressReporter): ScanPrinter {
  let events = 0;
  let alerts = 0;
  let last: AnomalyResult | null = null;
  let started = false;
  const windows = new WindowLines();
  return {
    batch: async (line) => {
      reporter.beforeOutput();
      const batch = AnomalyResultSchema.parse(JSON.parse(line));
      last = batch;
      if (output.json) {
        const shown = output.alertsOnly ? alertsOf(batch) : batch;
        if (shown !== null) await print(`${shown === batch ? line : JSON.stringify(shown)}\n`);
        return;
      }
      let text = started ? '' : SCAN_HEADER;
      started = true;
      windows.batch(batch);
      for (const event of batch.events) {
        events++;
        if (event.alert) alerts++;
        if (event.alert || !output.alertsOnly) text += scoredLineText(event);
        text += windows.through(event.seq);
      }
      await print(text);
    },
    end: async (ended) => {
      reporter.finish();
      if (output.json) return;
      let text = windows.through();
      const open = (last as AnomalyResult | null)?.openWindow;
      if (ended && open) text += windows.partial(open);
      const rule =
        output.threshold === 'auto'
          ? {
              alertRate: output.alertRate,
              warmupEvents: output.warmupEvents,
              current: (last as AnomalyResult | null)?.threshold ?? null,
            }
          : output.threshold;
      await print(`${text}${scanSummaryText(events, alerts, rule)}`);
    },
  };
}
