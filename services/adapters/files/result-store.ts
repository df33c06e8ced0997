// ResultStore in a local directory: one file per document or stream (result-<kind>-<id>.json) with the result,
// whether it went out, and a failure record; one file per section of a document (section-<id>-<index>.json)
// holding exactly the section's result JSON. Written atomically, so a result that was stored survives a crash
// before it is printed, and a finish step done again finds and delivers that same result.
import path from 'node:path';

import type { ResultStore, StateKey, StoredResult } from '../../../pipelines/ports.ts';
import { EMBEDDED_FORMAT, ResultFileSchema, type ResultFile } from '../../../schemas/embedded.ts';
import { nodeFileOps, readJsonFile, readOptional, writeAtomic, type FileOps } from './atomic-file.ts';
import { damagedFile } from './errors.ts';
import { idName } from './names.ts';

const EMPTY: ResultFile = { format: EMBEDDED_FORMAT, json: null, published: false, failure: null };

export class FileResultStore implements ResultStore {
  readonly #dir: string;
  readonly #ops: FileOps;
  /**
   * Sections read or written so far, per document, from index 0 without a gap. A stored section never changes
   * (the first write wins), so they are read from the disk once, however often the sections are asked for.
   */
  readonly #sections = new Map<string, string[]>();

  constructor(dir: string, ops: FileOps = nodeFileOps) {
    this.#dir = dir;
    this.#ops = ops;
  }

  #sectionFile(id: string, index: number): string {
    return path.join(this.#dir, `section-${idName(id)}-${index}.json`);
  }

  async #readSection(id: string, index: number): Promise<string | null> {
    const known = this.#sections.get(id)?.[index];
    if (known !== undefined) return known;
    const file = this.#sectionFile(id, index);
    const bytes = await readOptional(file);
    if (bytes === null) return null;
    const json = bytes.toString('utf8').replace(/\n$/, '');
    try {
      JSON.parse(json);
    } catch (err) {
      throw damagedFile(file, json.length === 0 ? 'it is empty' : 'it is not valid JSON', err);
    }
    const cached = this.#sections.get(id) ?? [];
    if (cached.length === index) cached.push(json);
    this.#sections.set(id, cached);
    return json;
  }

  async saveSection(id: string, index: number, json: string): Promise<string> {
    const stored = await this.#readSection(id, index);
    if (stored !== null) return stored;
    await writeAtomic(this.#ops, this.#sectionFile(id, index), `${json}\n`);
    const cached = this.#sections.get(id) ?? [];
    if (cached.length === index) cached.push(json);
    this.#sections.set(id, cached);
    return json;
  }

  async getSections(id: string, from = 0, to = Number.POSITIVE_INFINITY): Promise<string[]> {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const json = await this.#readSection(id, i);
      if (json === null) break;
      out.push(json);
    }
    return out;
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
