// Results as text for a person at a terminal: the summary itself; the label distribution as a small table;
// a section as a heading line with its token range and its answer; a log's lines with their scores, alerts
// marked. `--json` prints the results unchanged instead.
import type {
  ClassificationOutput,
  ClassifyResult,
  EventScore,
  SectionResult,
  SummarizeResult,
} from '../../schemas/results.ts';

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

/** Control characters (C0, DEL, C1) and the Unicode controls that reorder text, each at most once a match. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on a terminal: a log line is input from anywhere, and an escape sequence in it must not
 * be able to move the cursor, change colours or retitle the window. Tabs become "\t", other controls "\xNN"
 * or "\u{NNNN}".
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x09) return '\\t';
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A scored line: its number, surprise, alert mark and text (escaped; "…" when the score carries it cut). */
export function scoredLineText(event: EventScore): string {
  const text = event.text === undefined ? '' : `${printable(event.text)}${event.textCut ? '…' : ''}`;
  return `${event.offset.padStart(7)}  ${event.surprise.toFixed(2).padStart(8)}  ${event.alert ? 'ALERT' : '     '}  ${text}\n`;
}

export const SCAN_HEADER = `${'line'.padStart(7)}  ${'surprise'.padStart(8)}  ${''.padEnd(5)}  text\n`;

/** How alerts were decided, for the closing line. */
export type ThresholdRule = number | { alertRate: number; warmupEvents: number; current: number | null };

export function scanSummaryText(events: number, alerts: number, rule: ThresholdRule): string {
  const how =
    typeof rule === 'number'
      ? `surprise above ${rule} nats per token`
      : `adaptive threshold: the stream's ${Number((100 * (1 - rule.alertRate)).toFixed(4))}th percentile after ${rule.warmupEvents} lines, ` +
        (rule.current === null ? 'still warming up' : `now ${rule.current} nats per token`);
  return `\n${events} line${events === 1 ? '' : 's'} scored, ${alerts} alert${alerts === 1 ? '' : 's'} (${how})\n`;
}
