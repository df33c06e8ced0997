// The token ids a document is read as: the prefix of its prompt format (the user's turn, after an optional
// system turn) and then the document, folded as the family requires. Both go through one stream tokenizer,
// so the ids are those of tokenizing prefix + folded document whole, as the official demos do; and because
// the prefix is part of the stored ids, chunking and resuming need nothing else (it is read exactly once, at
// the start of chunk 0).
import type { DocumentTask } from '../schemas/tasks.ts';
import type { Tokenizer } from '../engine/index.ts';
import { StreamTokenizer } from './tokenize-stream.ts';
import { TurnFolder, documentPrefix } from './prompts/formats.ts';

export class DocumentTokenizer {
  readonly #tokens: StreamTokenizer;
  readonly #folder: TurnFolder | null;
  #prefix: Uint8Array | null;

  constructor(tokenizer: Tokenizer, task: Pick<DocumentTask, 'promptFormat' | 'system'>, windowBytes?: number) {
    this.#tokens = new StreamTokenizer(tokenizer, windowBytes);
    this.#folder = task.promptFormat === 'raw' ? null : new TurnFolder();
    const prefix = documentPrefix(task.promptFormat, task.system);
    this.#prefix = prefix.length > 0 ? Buffer.from(prefix, 'utf8') : null;
  }

  /** Takes more of the document's bytes; returns the ids that are final so far. */
  async push(bytes: Uint8Array): Promise<Int32Array> {
    if (this.#prefix) {
      // Joined with the first bytes so that the prefix and the document are encoded together.
      const first = Buffer.concat([this.#prefix, this.#folder ? this.#folder.push(bytes) : bytes]);
      this.#prefix = null;
      return this.#tokens.push(first);
    }
    return this.#tokens.push(this.#folder ? this.#folder.push(bytes) : bytes);
  }

  /** The remaining ids, once the document has ended (trailing blank lines of a folded document are dropped). */
  async end(): Promise<Int32Array> {
    const pending = this.#prefix ? await this.push(new Uint8Array(0)) : null;
    this.#folder?.end();
    const tail = await this.#tokens.end();
    return pending && pending.length > 0 ? Int32Array.from([...pending, ...tail]) : tail;
  }
}
