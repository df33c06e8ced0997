// ResultStore in a local directory: one file per document or stream (result-<kind>-<id>.json) with the result,
// whether it went out, and a failure record. Written atomically, so a result that was stored survives a crash
// before it is printed, and a finish step done again finds and delivers that same result.
import path from 'node:path';

import type { ResultStore, StateKey, StoredResult } from '../../pipelines/ports.ts';
import { EMBEDDED_FORMAT, ResultFileSchema, type ResultFile } from '../../schemas/embedded.ts';
import { nodeFileOps, readJsonFile, writeAtomic, type FileOps } from './atomic-file.ts';
import { idName } from './names.ts';

const EMPTY: ResultFile = { format: EMBEDDED_FORMAT, json: null, published: false, failure: null };

export class FileResultStore implements ResultStore {
  readonly #dir: string;
  readonly #ops: FileOps;

  constructor(dir: string, ops: FileOps = nodeFileOps) {
    this.#dir = dir;
    this.#ops = ops;
  }

  #file(kind: StateKey['kind'], id: string): string {
    return path.join(this.#dir, `result-${kind}-${idName(id)}.json`);
  }

  async #read(kind: StateKey['kind'], id: string): Promise<ResultFile> {
    return (await readJsonFile(this.#file(kind, id), ResultFileSchema)) ?? { ...EMPTY };
  }

  async #write(kind: StateKey['kind'], id: string, value: ResultFile): Promise<void> {
    await writeAtomic(this.#ops, this.#file(kind, id), `${JSON.stringify(value)}\n`);
  }

  async saveDocument(id: string, json: string): Promise<StoredResult> {
    const stored = await this.#read('document', id);
    if (stored.json !== null) return { json: stored.json, published: stored.published };
    await this.#write('document', id, { ...stored, json, published: false });
    return { json, published: false };
  }

  async getDocument(id: string): Promise<StoredResult | null> {
    const stored = await this.#read('document', id);
    return stored.json === null ? null : { json: stored.json, published: stored.published };
  }

  async markDocumentPublished(id: string): Promise<void> {
    const stored = await this.#read('document', id);
    if (stored.json !== null && !stored.published) await this.#write('document', id, { ...stored, published: true });
  }

  async saveFailure(id: string, json: string): Promise<void> {
    await this.#write('document', id, { ...(await this.#read('document', id)), failure: json });
  }

  async saveStream(id: string, json: string): Promise<void> {
    await this.#write('stream', id, { format: EMBEDDED_FORMAT, json, published: true, failure: null });
  }

  async get(kind: StateKey['kind'], id: string): Promise<string | null> {
    const stored = await this.#read(kind, id);
    return stored.json ?? stored.failure;
  }
}
