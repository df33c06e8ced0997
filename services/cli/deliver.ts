// Printing a job's results: as they are with --json (one JSON per line, the distributed results' schema), else
// as text. Sections are printed as they are made; the progress report is closed before the final results, so
// its last line comes before them. A summary shown live (`live`) is printed as it is generated; the result
// then only completes it (a job that had already finished, resumed only to print, prints it whole).
import { AnomalyResultSchema, DocumentResultSchema, SectionResultSchema, type AnomalyResult } from '../../schemas/results.ts';
import type { TextListener } from '../../pipelines/tasks/index.ts';
import type { DocumentTask } from '../../schemas/tasks.ts';
import type { Deliver } from '../embedded/index.ts';
import type { SectionOutput } from '../embedded/section-feed.ts';
import { print, type ProgressReporter } from './embedded-command.ts';
import { SCAN_HEADER, classificationText, scanSummaryText, scoredLineText, scoredLines, sectionText, summaryText } from './result-text.ts';
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

export function documentOutput(json: boolean, reporter: ProgressReporter, live = false, task?: DocumentTask): DocumentOutput {
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
        await print(result.stateSummary === undefined ? '\n' : `\n\nfrom the final state:\n${result.stateSummary.text.trim()}\n`);
        continue;
      }
      await print(result.task === 'summarize' ? summaryText(result) : classificationText(result));
    }
  };
}

export interface ScanOutput {
  json: boolean;
  /** Text: only the lines that raised an alert. */
  alertsOnly: boolean;
  threshold: number;
}

async function* batches(results: AsyncIterable<string>, windows: WindowLines): AsyncGenerator<AnomalyResult> {
  for await (const line of results) {
    const batch = AnomalyResultSchema.parse(JSON.parse(line));
    windows.batch(batch);
    yield batch;
  }
}

export function deliverScan(output: ScanOutput, reporter: ProgressReporter): Deliver {
  return async (results, input) => {
    reporter.finish();
    if (output.json) {
      for await (const line of results) await print(`${line}\n`);
      return;
    }
    let events = 0;
    let alerts = 0;
    await print(SCAN_HEADER);
    const windows = new WindowLines();
    for await (const line of scoredLines(batches(results, windows), input)) {
      events++;
      if (line.event.alert) alerts++;
      if (line.event.alert || !output.alertsOnly) await print(scoredLineText(line));
      const closed = windows.through(line.event.seq);
      if (closed !== '') await print(closed);
    }
    const rest = windows.through();
    if (rest !== '') await print(rest);
    await print(scanSummaryText(events, alerts, output.threshold));
  };
}
