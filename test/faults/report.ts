// What the fault suite tried and what came of it: one row per fault, bad input or load run, printed as a table.
// A row passes when every try ended in an identical result or a refusal with a reason; anything lost, wrong,
// crashed or hung fails the row and the suite.

export type Category = 'fault' | 'bad input' | 'fuzz' | 'load';

export interface Row {
  category: Category;
  /** What was tried, e.g. "worker SIGKILL at random points". */
  name: string;
  /** How many times it was tried (kills, inputs, documents...). */
  tries: number;
  /** Tries whose final results were identical to an undisturbed run (faults, load). */
  identical: number;
  /** Tries refused with a clear reason while everything else went on undisturbed (bad input, fuzz). */
  refused: number;
  /** Tries that lost, duplicated or changed a result, crashed, or hung. */
  lost: number;
  /** Figures and reasons worth reading (latency, throughput, the refusal's code...). */
  note: string;
}

export function passed(row: Row): boolean {
  return row.lost === 0 && row.identical + row.refused === row.tries && row.tries > 0;
}

/** The row of a scenario that threw instead of reporting: everything it meant to try counts as lost. */
export function crashedRow(category: Category, name: string, err: unknown): Row {
  const message = err instanceof Error ? err.message : String(err);
  return {
    category,
    name,
    tries: 1,
    identical: 0,
    refused: 0,
    lost: 1,
    note: `crashed: ${message.split('\n')[0]!.slice(0, 200)}`,
  };
}

export function formatTable(rows: Row[]): string {
  const header = ['category', 'tried', 'times', 'identical', 'refused', 'lost', 'outcome', 'figures / reasons'];
  const body = rows.map((r) => [
    r.category,
    r.name,
    String(r.tries),
    String(r.identical),
    String(r.refused),
    String(r.lost),
    passed(r) ? 'ok' : 'FAIL',
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
