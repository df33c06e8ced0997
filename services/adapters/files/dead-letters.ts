// DeadLetterSink of one process: what could not be processed is kept for the command to act on (a refused
// document fails the command; a refused log line is reported and the scan goes on), and each letter is
// handed to `notify` as it comes, so a long scan reports a bad line when it meets it.
import type { DeadLetterSink } from '../../../pipelines/ports.ts';
import type { DeadLetter } from '../../../schemas/dead-letter.ts';

export class CollectingDeadLetters implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  readonly #notify: (letter: DeadLetter) => void;

  constructor(notify: (letter: DeadLetter) => void = () => {}) {
    this.#notify = notify;
  }

  async publish(letter: DeadLetter): Promise<void> {
    this.letters.push(letter);
    this.#notify(letter);
  }
}
