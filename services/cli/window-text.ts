// A scan's window summaries as text: one line per closed window, printed after the line that closed it. A
// window speaks of events by sequence number; a person reads line numbers, so the lines of the events still
// in an open window are remembered until it closes.
import type { AnomalyResult, WindowSummary } from '../../schemas/results.ts';

export class WindowLines {
  /** seq -> line number, for the events of windows not printed yet. */
  readonly #lineOf = new Map<number, string>();
  /** Closed windows not printed yet, in order. */
  readonly #pending: WindowSummary[] = [];

  /** Takes in a batch as it is read, before its events are printed. */
  batch(result: AnomalyResult): void {
    for (const event of result.events) this.#lineOf.set(event.seq, event.offset);
    this.#pending.push(...(result.windows ?? []));
  }

  /** The lines of the windows closed at or before `seq` (all of them when seq is omitted), and forgets them. */
  through(seq = Number.POSITIVE_INFINITY): string {
    let text = '';
    while (this.#pending.length > 0 && this.#pending[0]!.lastSeq <= seq) {
      const window = this.#pending.shift()!;
      text += this.#text(window);
      for (let s = window.firstSeq; s <= window.lastSeq; s++) this.#lineOf.delete(s);
    }
    return text;
  }

  /** The line of a window still open at the end of the input: what it holds so far. */
  partial(w: WindowSummary): string {
    return this.#text(w, ' (partial: the input ended)');
  }

  #line(seq: number): string {
    return this.#lineOf.get(seq) ?? `event ${seq}`;
  }

  #text(w: WindowSummary, note = ''): string {
    const top = w.top.map((t) => `${this.#line(t.seq)} (${t.surprise.toFixed(2)})`).join(', ');
    return (
      `-- window ${w.window}${note}: lines ${this.#line(w.firstSeq)}-${this.#line(w.lastSeq)}, ` +
      `${w.events} line${w.events === 1 ? '' : 's'}, ${w.alerts} alert${w.alerts === 1 ? '' : 's'}, ` +
      `mean ${w.meanEventSurprise.toFixed(2)} max ${w.maxSurprise.toFixed(2)} nats per token` +
      `${top === '' ? '' : `; most surprising: ${top}`}\n`
    );
  }
}
