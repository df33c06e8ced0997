// BodyReader of an embedded job: the one input file the job was started on, as a file:// URL. Nothing else
// is readable through it — the plan step has no reason to open anything but the job's own input.
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { permanent, transient } from '../../pipelines/errors.ts';
import type { BodyReader } from '../../pipelines/ports.ts';
import { describeIoError } from '../adapters/files/errors.ts';

export class InputBodyReader implements BodyReader {
  readonly url: string;
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
    this.url = pathToFileURL(file).href;
  }

  open(url: string): AsyncIterable<Uint8Array> {
    if (url !== this.url) throw permanent('E_REF_FORBIDDEN', `${url} is not this job's input (${this.url})`);
    return this.#read();
  }

  async *#read(): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of createReadStream(this.#file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    } catch (err) {
      throw transient('E_REF_READ', `reading ${this.#file} failed: ${describeIoError(err)}`, err);
    }
  }
}
