// Printing a finished job's results: as they are with --json (one JSON per line, the distributed results'
// schema), else as text. The progress report is closed first, so its last line comes before the results.
import { AnomalyResultSchema, DocumentResultSchema, type AnomalyResult } from '../../schemas/results.ts';
import type { Deliver } from '../embedded/index.ts';
import { print, type ProgressReporter } from './embedded-command.ts';
import { SCAN_HEADER, classificationText, scanSummaryText, scoredLineText, scoredLines, summaryText } from './result-text.ts';

export function deliverDocument(json: boolean, reporter: ProgressReporter): Deliver {
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

async function* batches(results: AsyncIterable<string>): AsyncGenerator<AnomalyResult> {
  for await (const line of results) yield AnomalyResultSchema.parse(JSON.parse(line));
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
    for await (const line of scoredLines(batches(results), input)) {
      events++;
      if (line.event.alert) alerts++;
      if (line.event.alert || !output.alertsOnly) await print(scoredLineText(line));
    }
    await print(scanSummaryText(events, alerts, output.threshold));
  };
}
