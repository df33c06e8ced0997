// Printing a job's results: as they are with --json (one JSON per line, the distributed results' schema), else
// as text. Sections are printed as they are made; the progress report is closed before the final results, so
// its last line comes before them.
import { AnomalyResultSchema, DocumentResultSchema, SectionResultSchema, type AnomalyResult } from '../../schemas/results.ts';
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
}

export function documentOutput(json: boolean, reporter: ProgressReporter): DocumentOutput {
  return {
    section: async (line) => {
      reporter.beforeOutput();
      await print(json ? `${line}\n` : sectionText(SectionResultSchema.parse(JSON.parse(line))));
    },
    deliver: deliverDocument(json, reporter),
  };
}

function deliverDocument(json: boolean, reporter: ProgressReporter): Deliver {
  return async (results) => {
    reporter.finish();
    for await (const line of results) {
      if (json) {
        await print(`${line}\n`);
        continue;
      }
      const result = DocumentResultSchema.parse(JSON.parse(line));
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
