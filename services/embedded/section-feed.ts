// Hands a document's section results to the output in order, each once, as soon as the result store has them.
// The store is read rather than the published results: it is what a resumed job finds, so a run that was
// killed and resumed prints the same sections in the same order as one that never stopped.
/** The sections stored from index `from` on, in order, up to the first one not stored. */
export type SectionReader = (from: number) => Promise<readonly string[]>;
export type SectionOutput = (json: string) => Promise<void>;

export class SectionFeed {
  readonly #read: SectionReader;
  readonly #output: SectionOutput;
  /** Sections handed over so far: the index of the next one. */
  #next = 0;

  constructor(read: SectionReader, output: SectionOutput) {
    this.#read = read;
    this.#output = output;
  }

  /** Hands over the sections stored since the last call. */
  async flush(): Promise<void> {
    for (const json of await this.#read(this.#next)) {
      await this.#output(json);
      this.#next++;
    }
  }
}
