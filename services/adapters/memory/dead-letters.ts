// DeadLetterSink of one process: what could not be processed is kept for the process to act on (a refused
// document fails the embedded command; a refused log line is reported and the scan goes on), and each letter
// is handed to `notify` as it comes, so a long scan reports a bad line when it meets it.
import type { DeadLetterSink } from '../../../pipelines/ports.ts';
import type { DeadLetter } from '../../../schemas/dead-letter.ts';

export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  readonly #notify: (letter: DeadLetter) => void;

  constructor(notify: (letter: DeadLetter) => void = () => {}) {
    this.#notify = notify;
  }

  /** Bound to the sink: it may be handed on alone. */
  readonly publish = async (letter: DeadLetter): Promise<void> => {
    this.letters.push(letter);
    this.#notify(letter);
  };
}
