// DocumentStore in a local directory: a planned document is a record file (doc-<id>.json, written once and
// atomically, its status beside it) and its token ids as int32 little-endian files, one per segment, that a
// chunk reads a slice of. Token files are written under the planning attempt's nonce and flushed before the
// record that names them is written, so a record never points at ids that are not on the disk; files of an
// attempt that never created its record are removed when the store is opened. Parts of a document sent in
// pieces are files too (part-<id>-<index>), with what arrived listed in parts-<id>.json.
import { open, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { segmentSlices, tokenNonce } from '../../../pipelines/chunking.ts';
import { permanent } from '../../../pipelines/errors.ts';
import type { DocumentStore, PartOutcome, PlannedDocument, TokenWriter } from '../../../pipelines/ports.ts';
import { DocumentFileSchema, EMBEDDED_FORMAT, PartsFileSchema, type PartsFile } from '../../../schemas/embedded.ts';
import type { DocumentRecord, DocumentStatus, TokenLayout } from '../../../schemas/records.ts';
import type { DocumentTask } from '../../../schemas/tasks.ts';
import {
  nodeFileOps,
  readJsonFile,
  readOptional,
  removeFile,
  syncFile,
  writeAtomic,
  type FileOps,
} from './atomic-file.ts';
import { damagedFile, readFailed, writeFailed } from './errors.ts';
import { idName } from './names.ts';

const LITTLE_ENDIAN = os.endianness() === 'LE';
const TOKEN_FILE = /^tokens-(.+)-([0-9a-f]{16})-(\d+)\.i32$/;
const DOC_FILE = /^doc-(.+)\.json$/;

function int32Bytes(ids: Int32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const out = Buffer.alloc(ids.byteLength);
  ids.forEach((id, i) => out.writeInt32LE(id, i * 4));
  return out;
}

function int32Ids(bytes: Buffer, into: Int32Array, at: number): void {
  const count = bytes.length / 4;
  if (LITTLE_ENDIAN) new Uint8Array(into.buffer, into.byteOffset + at * 4, bytes.length).set(bytes);
  else for (let i = 0; i < count; i++) into[at + i] = bytes.readInt32LE(i * 4);
}

/** Ids segment `segment` holds when the document is complete. */
function segmentLength(record: DocumentRecord, segment: number): number {
  return Math.min(record.layout.segmentTokens, record.tokens - segment * record.layout.segmentTokens);
}

export interface FileDocumentStoreOptions {
  maxDocumentBytes: number;
  ops?: FileOps;
}

export class FileDocumentStore implements DocumentStore {
  readonly #dir: string;
  readonly #ops: FileOps;
  readonly #maxDocumentBytes: number;
  readonly #documents = new Map<string, PlannedDocument | null>();

  private constructor(dir: string, options: FileDocumentStoreOptions) {
    this.#dir = dir;
    this.#ops = options.ops ?? nodeFileOps;
    this.#maxDocumentBytes = options.maxDocumentBytes;
  }

  static async open(dir: string, options: FileDocumentStoreOptions): Promise<FileDocumentStore> {
    const store = new FileDocumentStore(dir, options);
    await store.#sweep();
    return store;
  }

  #file(name: string): string {
    return path.join(this.#dir, name);
  }

  #docFile(id: string): string {
    return this.#file(`doc-${idName(id)}.json`);
  }

  #tokenFile(id: string, nonce: string, segment: number): string {
    return this.#file(`tokens-${idName(id)}-${nonce}-${segment}.i32`);
  }

  #partsFile(id: string): string {
    return this.#file(`parts-${idName(id)}.json`);
  }

  #partFile(id: string, index: number): string {
    return this.#file(`part-${idName(id)}-${index}`);
  }

  // ---- parts ------------------------------------------------------------------------------------------------

  async putPart(
    id: string,
    index: number,
    final: boolean,
    data: Buffer,
    task: DocumentTask | null,
  ): Promise<PartOutcome> {
    const parts: PartsFile = (await readJsonFile(this.#partsFile(id), PartsFileSchema)) ?? {
      format: EMBEDDED_FORMAT,
      sizes: {},
      count: null,
      task: null,
    };
    const indexes = Object.keys(parts.sizes).map(Number);
    const highest = Math.max(-1, ...indexes);
    if (final) {
      if (parts.count !== null && parts.count !== index + 1) {
        return {
          status: 'rejected',
          code: 'E_PART_CONFLICT',
          reason: `a final part with another part count arrived before (${parts.count} parts)`,
        };
      }
      if (highest > index)
        return {
          status: 'rejected',
          code: 'E_PART_CONFLICT',
          reason: `part ${highest} arrived, beyond this final part ${index}`,
        };
    } else if (parts.count !== null && index >= parts.count) {
      return {
        status: 'rejected',
        code: 'E_PART_CONFLICT',
        reason: `part ${index} is beyond the final part (${parts.count} parts)`,
      };
    }
    const total = indexes.reduce((sum, i) => sum + (i === index ? 0 : parts.sizes[String(i)]!), 0) + data.length;
    if (total > this.#maxDocumentBytes) {
      return {
        status: 'rejected',
        code: 'E_TOO_LARGE',
        reason: `the parts add up to more than ${this.#maxDocumentBytes} bytes`,
      };
    }
    await writeAtomic(this.#ops, this.#partFile(id, index), data);
    parts.sizes[String(index)] = data.length;
    if (final) {
      parts.count = index + 1;
      parts.task = task;
    }
    await writeAtomic(this.#ops, this.#partsFile(id), `${JSON.stringify(parts)}\n`);
    if (parts.count !== null && Object.keys(parts.sizes).length === parts.count) {
      return { status: 'complete', count: parts.count, task: parts.task! };
    }
    return { status: 'pending' };
  }

  async *readParts(id: string, count: number): AsyncIterable<Buffer> {
    for (let index = 0; index < count; index++) {
      const part = await readOptional(this.#partFile(id, index));
      if (part === null)
        throw permanent('E_PART_MISSING', `part ${index} of document ${id} is gone (${this.#partFile(id, index)})`);
      yield part;
    }
  }

  async dropParts(id: string, count: number): Promise<void> {
    for (let index = 0; index < count; index++) await removeFile(this.#ops, this.#partFile(id, index));
    await removeFile(this.#ops, this.#partsFile(id));
  }

  // ---- token ids ----------------------------------------------------------------------------------------------

  openTokenWriter(id: string, segmentTokens: number): TokenWriter {
    const nonce = tokenNonce();
    let written = 0;
    const layout = (): TokenLayout => ({ nonce, segmentTokens, segments: Math.ceil(written / segmentTokens) });
    return {
      append: async (ids: Int32Array) => {
        for (const slice of segmentSlices(written, written + ids.length, segmentTokens)) {
          const from = slice.segment * segmentTokens + slice.from - written;
          const file = this.#tokenFile(id, nonce, slice.segment);
          // Not flushed here: create() flushes every segment once, before the record that names them exists.
          const handle = await this.#ops.open(file, 'a').catch((err: unknown) => {
            throw writeFailed(file, err);
          });
          try {
            await handle.writeFile(int32Bytes(ids.subarray(from, from + slice.to - slice.from)));
          } catch (err) {
            throw writeFailed(file, err);
          } finally {
            await handle.close().catch(() => {});
          }
        }
        written += ids.length;
      },
      layout,
      discard: async () => {
        for (let s = 0; s < layout().segments; s++)
          await removeFile(this.#ops, this.#tokenFile(id, nonce, s)).catch(() => {});
      },
    };
  }

  async create(record: DocumentRecord): Promise<{ created: true } | { created: false; existing: PlannedDocument }> {
    const existing = await this.get(record.id);
    if (existing) return { created: false, existing };
    for (let s = 0; s < record.layout.segments; s++) {
      const file = this.#tokenFile(record.id, record.layout.nonce, s);
      await syncFile(this.#ops, file);
    }
    await this.#writeDocument({ record, status: 'running' });
    return { created: true };
  }

  async #writeDocument(doc: PlannedDocument): Promise<void> {
    const file = this.#docFile(doc.record.id);
    try {
      await writeAtomic(this.#ops, file, `${JSON.stringify({ format: EMBEDDED_FORMAT, ...doc })}\n`);
    } catch (err) {
      this.#documents.delete(doc.record.id);
      throw err;
    }
    this.#documents.set(doc.record.id, structuredClone(doc));
  }

  async get(id: string): Promise<PlannedDocument | null> {
    if (!this.#documents.has(id)) {
      const file = this.#docFile(id);
      const doc = await readJsonFile(file, DocumentFileSchema);
      if (doc && doc.record.id !== id) throw damagedFile(file, `it holds document ${doc.record.id}, not ${id}`);
      this.#documents.set(id, doc ? { record: doc.record, status: doc.status } : null);
    }
    const doc = this.#documents.get(id);
    return doc ? structuredClone(doc) : null;
  }

  async readTokens(record: DocumentRecord, start: number, end: number): Promise<Int32Array> {
    const out = new Int32Array(end - start);
    let at = 0;
    for (const slice of segmentSlices(start, end, record.layout.segmentTokens)) {
      const file = this.#tokenFile(record.id, record.layout.nonce, slice.segment);
      const want = (slice.to - slice.from) * 4;
      const bytes = Buffer.alloc(want);
      let got = 0;
      try {
        const handle = await open(file, 'r');
        try {
          got = (await handle.read(bytes, 0, want, slice.from * 4)).bytesRead;
        } finally {
          await handle.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw damagedFile(this.#docFile(record.id), `the token file it names, ${file}, is missing`);
        }
        throw readFailed(file, err);
      }
      if (got !== want) {
        throw damagedFile(
          file,
          `it ends before the ${segmentLength(record, slice.segment)} token ids the document record says it holds`,
        );
      }
      int32Ids(bytes, out, at);
      at += slice.to - slice.from;
    }
    return out;
  }

  async complete(record: DocumentRecord, status: Exclude<DocumentStatus, 'running'>): Promise<void> {
    await this.#writeDocument({ record, status });
    for (let s = 0; s < record.layout.segments; s++) {
      await removeFile(this.#ops, this.#tokenFile(record.id, record.layout.nonce, s)).catch(() => {});
    }
  }

  /** Removes token files no running document's record names (a planning attempt that did not finish). */
  async #sweep(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      throw readFailed(this.#dir, err);
    }
    const kept = new Set<string>();
    for (const name of names) {
      if (!DOC_FILE.test(name)) continue;
      // A damaged record is reported when its document is read; its tokens are kept until then.
      const doc = await readJsonFile(this.#file(name), DocumentFileSchema).catch(() => undefined);
      if (doc === undefined) return;
      if (doc?.status === 'running') kept.add(`${idName(doc.record.id)}-${doc.record.layout.nonce}`);
    }
    for (const name of names) {
      const match = TOKEN_FILE.exec(name);
      if (match && !kept.has(`${match[1]}-${match[2]}`)) await removeFile(this.#ops, this.#file(name)).catch(() => {});
    }
  }
}
