// DocumentStore in memory: parts, planned documents and their token ids for the life of the process, created
// once per id, with token ids written under a fresh nonce per attempt as the Redis store does. A failed id can
// be reopened; what else the id holds in other stores is cleared through `reopenHooks` (the Redis store's keys
// share the document's hash tag and go in one step).
import { segmentSlices, tokenNonce } from '../../../pipelines/chunking.ts';
import { permanent } from '../../../pipelines/errors.ts';
import type { DocumentStore, PartOutcome, PlannedDocument, TokenWriter } from '../../../pipelines/ports.ts';
import type { DocumentRecord, DocumentStatus } from '../../../schemas/records.ts';
import type { DocumentTask } from '../../../schemas/tasks.ts';

export class MemoryDocumentStore implements DocumentStore {
  readonly parts = new Map<string, { data: Map<number, Buffer>; final: number | null; task: DocumentTask | null }>();
  readonly docs = new Map<string, PlannedDocument>();
  readonly tokens = new Map<string, Int32Array[]>();
  readonly #maxDocumentBytes: number;

  constructor(options: { maxDocumentBytes: number }) {
    this.#maxDocumentBytes = options.maxDocumentBytes;
  }

  async putPart(
    id: string,
    index: number,
    final: boolean,
    data: Buffer,
    task: DocumentTask | null,
  ): Promise<PartOutcome> {
    const entry = this.parts.get(id) ?? { data: new Map(), final: null, task: null };
    this.parts.set(id, entry);
    const highest = Math.max(-1, ...entry.data.keys());
    if (final && ((entry.final !== null && entry.final !== index + 1) || highest > index)) {
      return { status: 'rejected', code: 'E_PART_CONFLICT', reason: 'conflicting final part' };
    }
    if (!final && entry.final !== null && index >= entry.final) {
      return { status: 'rejected', code: 'E_PART_CONFLICT', reason: 'part beyond the final part' };
    }
    const bytes = [...entry.data].reduce((sum, [i, part]) => sum + (i === index ? 0 : part.length), data.length);
    if (bytes > this.#maxDocumentBytes) {
      return {
        status: 'rejected',
        code: 'E_TOO_LARGE',
        reason: `the parts add up to more than ${this.#maxDocumentBytes} bytes`,
      };
    }
    entry.data.set(index, data);
    if (final) {
      entry.final = index + 1;
      entry.task = task;
    }
    return entry.final !== null && entry.data.size === entry.final
      ? { status: 'complete', count: entry.final, task: entry.task! }
      : { status: 'pending' };
  }

  async *readParts(id: string, count: number): AsyncIterable<Buffer> {
    for (let i = 0; i < count; i++) {
      const part = this.parts.get(id)?.data.get(i);
      if (!part) throw permanent('E_PART_MISSING', `part ${i} of ${id} is gone`);
      yield part;
    }
  }

  async dropParts(id: string): Promise<void> {
    this.parts.delete(id);
  }

  /** What a reopened id clears beside the record (the Redis store's keys share the document's hash tag). */
  reopenHooks: ((id: string) => void)[] = [];

  async reopenFailed(id: string): Promise<boolean> {
    const doc = this.docs.get(id);
    if (doc && doc.status !== 'failed') return false;
    this.docs.delete(id);
    for (const hook of this.reopenHooks) hook(id);
    return true;
  }

  openTokenWriter(id: string, segmentTokens: number): TokenWriter {
    const nonce = tokenNonce();
    const key = `${id}/${nonce}`;
    const segments: number[][] = [];
    let written = 0;
    return {
      append: async (ids) => {
        for (const s of segmentSlices(written, written + ids.length, segmentTokens)) {
          const from = s.segment * segmentTokens + s.from - written;
          const segment = segments[s.segment] ?? [];
          segments[s.segment] = segment;
          segment.push(...ids.subarray(from, from + s.to - s.from));
        }
        written += ids.length;
        this.tokens.set(
          key,
          segments.map((s) => Int32Array.from(s)),
        );
      },
      layout: () => ({ nonce, segmentTokens, segments: segments.length }),
      discard: async () => {
        this.tokens.delete(key);
      },
    };
  }

  async create(record: DocumentRecord): Promise<{ created: true } | { created: false; existing: PlannedDocument }> {
    const existing = this.docs.get(record.id);
    if (existing) return { created: false, existing: structuredClone(existing) };
    this.docs.set(record.id, { record: structuredClone(record), status: 'running' });
    return { created: true };
  }

  async get(id: string): Promise<PlannedDocument | null> {
    const doc = this.docs.get(id);
    return doc ? structuredClone(doc) : null;
  }

  async readTokens(record: DocumentRecord, start: number, end: number): Promise<Int32Array> {
    const segments = this.tokens.get(`${record.id}/${record.layout.nonce}`);
    if (!segments) throw permanent('E_TOKENS_MISSING', `no tokens for ${record.id}`);
    const out = new Int32Array(end - start);
    let at = 0;
    for (const s of segmentSlices(start, end, record.layout.segmentTokens)) {
      out.set(segments[s.segment]!.subarray(s.from, s.to), at);
      at += s.to - s.from;
    }
    return out;
  }

  async complete(record: DocumentRecord, status: Exclude<DocumentStatus, 'running'>): Promise<void> {
    const doc = this.docs.get(record.id);
    if (doc) doc.status = status;
    this.tokens.delete(`${record.id}/${record.layout.nonce}`);
  }
}
