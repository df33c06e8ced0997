// ResultStore in memory: the first result stored for a document or section is kept (a redone step stores
// nothing new), failures are kept apart from results, a stream keeps its latest batch.
import type { ResultStore, StateKey, StoredResult } from '../../../pipelines/ports.ts';

export class MemoryResultStore implements ResultStore {
  readonly documents = new Map<string, StoredResult>();
  readonly failures = new Map<string, string>();
  readonly streams = new Map<string, string>();
  /** Section results by document id, then index. */
  readonly sections = new Map<string, Map<number, string>>();
  /** saveSection calls per "<id>#<index>" (a redone chunk saves again; the first JSON must stay). */
  readonly sectionSaves = new Map<string, number>();

  async saveSection(id: string, index: number, json: string): Promise<string> {
    const stored = this.sections.get(id) ?? new Map<number, string>();
    this.sections.set(id, stored);
    if (!stored.has(index)) stored.set(index, json);
    this.sectionSaves.set(`${id}#${index}`, (this.sectionSaves.get(`${id}#${index}`) ?? 0) + 1);
    return stored.get(index)!;
  }

  async getSections(id: string, from = 0, to = Number.POSITIVE_INFINITY): Promise<string[]> {
    const stored = this.sections.get(id);
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const json = stored?.get(i);
      if (json === undefined) break;
      out.push(json);
    }
    return out;
  }

  async saveDocument(id: string, json: string): Promise<StoredResult> {
    if (!this.documents.has(id)) this.documents.set(id, { json, published: false });
    return { ...this.documents.get(id)! };
  }

  async getDocument(id: string): Promise<StoredResult | null> {
    const r = this.documents.get(id);
    return r ? { ...r } : null;
  }

  async markDocumentPublished(id: string): Promise<void> {
    const r = this.documents.get(id);
    if (r) r.published = true;
  }

  async saveFailure(id: string, json: string): Promise<void> {
    this.failures.set(id, json);
  }

  async saveStream(id: string, json: string): Promise<void> {
    this.streams.set(id, json);
  }

  async get(kind: StateKey['kind'], id: string): Promise<string | null> {
    return kind === 'document'
      ? (this.documents.get(id)?.json ?? this.failures.get(id) ?? null)
      : (this.streams.get(id) ?? null);
  }
}
