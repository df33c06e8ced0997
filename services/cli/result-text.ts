// Results as text for a person at a terminal: the summary itself; the label distribution as a small table;
// a section as a heading line with its token range and its answer; a log's lines with their scores, alerts
// marked. `--json` prints the results unchanged instead.
import type { AnomalyResult, ClassificationOutput, ClassifyResult, EventScore, SectionResult, SummarizeResult } from '../../schemas/results.ts';
import { readLines } from '../embedded/index.ts';

export function summaryText(result: SummarizeResult): string {
  if (result.stateSummary === undefined) return `${result.summary.text.trim()}\n`;
  return `from the sections:\n${result.summary.text.trim()}\n\nfrom the final state:\n${result.stateSummary.text.trim()}\n`;
}

const BAR_WIDTH = 30;

function distributionText(classification: ClassificationOutput): string {
  const { labels, best } = classification;
  const rows = [...labels].sort((a, b) => b.probability - a.probability);
  const width = Math.max(5, ...rows.map((r) => r.label.length));
  const lines = [`${'label'.padEnd(width)}  probability  log-prob`];
  for (const r of rows) {
    const percent = `${(100 * r.probability).toFixed(1)}%`.padStart(11);
    const logprob = r.logprob.toFixed(2).padStart(8);
    const bar = '#'.repeat(Math.round(BAR_WIDTH * r.probability));
    lines.push(`${r.label.padEnd(width)}  ${percent}  ${logprob}  ${bar}`);
  }
  lines.push('', `best: ${best}`);
  return `${lines.join('\n')}\n`;
}

export function classificationText(result: ClassifyResult): string {
  if (result.stateClassification === undefined) return distributionText(result.classification);
  return `from the sections:\n${distributionText(result.classification)}\nfrom the final state:\n${distributionText(result.stateClassification)}`;
}

const BOUNDARY_NAMES: Readonly<Record<SectionResult['boundary'], string>> = {
  heading: 'heading',
  'blank-line': 'blank line',
  line: 'end of line',
  sentence: 'end of sentence',
  exact: 'exact cut',
  end: 'end of document',
};

/**
 * One block per section: "§2/12 tokens 1030–2050 (blank line)", then the section's summary, or its best label
 * with its probability; a blank line closes the block. The number is 1-based, for reading.
 */
export function sectionText(result: SectionResult): string {
  const head = `§${result.section + 1}/${result.sections} tokens ${result.start}–${result.end} (${BOUNDARY_NAMES[result.boundary]})`;
  if (result.task === 'summarize') return `${head}\n${result.summary.text.trim()}\n\n`;
  const best = result.classification.labels.find((l) => l.label === result.classification.best)!;
  return `${head}\n${best.label} ${(100 * best.probability).toFixed(1)}%\n\n`;
}

export interface ScoredLine {
  event: EventScore;
  text: string;
}

/** The events of the batches in order, each with the text of its line (its offset is the line number). */
export async function* scoredLines(batches: AsyncIterable<AnomalyResult>, input: string): AsyncGenerator<ScoredLine> {
  const lines = readLines(input)[Symbol.asyncIterator]();
  let current = await lines.next();
  for await (const batch of batches) {
    for (const event of batch.events) {
      const number = Number(event.offset);
      while (!current.done && current.value.number < number) current = await lines.next();
      const text = !current.done && current.value.number === number ? current.value.bytes.toString('utf8') : '';
      yield { event, text };
    }
  }
}

export function scoredLineText(line: ScoredLine): string {
  const { event } = line;
  return `${event.offset.padStart(7)}  ${event.surprise.toFixed(2).padStart(8)}  ${event.alert ? 'ALERT' : '     '}  ${line.text}\n`;
}

export const SCAN_HEADER = `${'line'.padStart(7)}  ${'surprise'.padStart(8)}  ${''.padEnd(5)}  text\n`;

export function scanSummaryText(events: number, alerts: number, threshold: number): string {
  return `\n${events} line${events === 1 ? '' : 's'} scored, ${alerts} alert${alerts === 1 ? '' : 's'} ` +
    `(surprise above ${threshold} nats per token)\n`;
}
