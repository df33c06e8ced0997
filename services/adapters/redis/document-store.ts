// DocumentStore on Redis: parts assembled per document, and the planned document's token ids as int32
// little-endian strings that chunk jobs read a slice of with GETRANGE (a chunk of 4096 tokens is 16 KiB,
// whatever the document's length).
import os from 'node:os';

import type { RedisClient } from './access.ts';

import { segmentSlices, tokenNonce } from '../../../pipelines/chunking.ts';
import { permanent } from '../../../pipelines/errors.ts';
import type { DocumentStore, PartOutcome, PlannedDocument, TokenWriter } from '../../../pipelines/ports.ts';
import { PermanentCodeSchema } from '../../../schemas/error-code-schemas.ts';
import {
  DocumentRecordSchema,
  DocumentStatusSchema,
  type DocumentRecord,
  type DocumentStatus,
  type TokenLayout,
} from '../../../schemas/records.ts';
import { DocumentTaskSchema, type DocumentTask } from '../../../schemas/tasks.ts';
import type { Keys } from './keys.ts';
import { CLAIM_DUE_PARTS, CREATE_DOCUMENT, PUT_PART, REOPEN_FAILED } from './lua.ts';

/** Token keys of an attempt that has not created its document yet expire, so a crashed attempt cleans up. */
const PENDING_TOKENS_S = 3600;
const LITTLE_ENDIAN = os.endianness() === 'LE';

function int32Bytes(ids: Int32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const out = Buffer.alloc(ids.byteLength);
  ids.forEach((id, i) => out.writeInt32LE(id, i * 4));
  return out;
}

function int32Ids(bytes: Buffer): Int32Array {
  const ids = new Int32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) Buffer.from(ids.buffer).set(bytes);
  else for (let i = 0; i < ids.length; i++) ids[i] = bytes.readInt32LE(i * 4);
  return ids;
}

export interface DocumentStoreOptions {
  /** How long a finished document's record stays readable. */
  retentionSeconds: number;
  /** How long parts of an incomplete document wait for the rest. */
  partTtlSeconds: number;
  maxDocumentBytes: number;
}

export class RedisDocumentStore implements DocumentStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly options: DocumentStoreOptions,
  ) {}

  async putPart(
    id: string,
    index: number,
    final: boolean,
    data: Buffer,
    task: DocumentTask | null,
  ): Promise<PartOutcome> {
    const reply = (await PUT_PART.run(
      this.redis,
      [this.keys.parts(id), this.keys.part(id, index)],
      [
        index,
        final ? '1' : '0',
        data,
        task === null ? '' : JSON.stringify(task),
        this.options.partTtlSeconds,
        this.options.maxDocumentBytes,
      ],
    )) as [string, ...(string | number)[]];
    if (reply[0] === 'pending') {
      // Watched until the rest arrives: parts that expire unfinished get a failure record (takeAbandonedParts).
      await this.redis.zadd(this.keys.partsPending(), Date.now() + this.options.partTtlSeconds * 1000, id);
      return { status: 'pending' };
    }
    if (reply[0] === 'rejected')
      return { status: 'rejected', code: PermanentCodeSchema.parse(String(reply[1])), reason: String(reply[2]) };
    await this.redis.zrem(this.keys.partsPending(), id);
    return {
      status: 'complete',
      count: Number(reply[1]),
      task: DocumentTaskSchema.parse(JSON.parse(String(reply[2]))),
    };
  }

  /**
   * Documents whose parts expired before the set was complete (at most `max`, each handed to one caller).
   * One whose parts are still there (a part arrived since it was due) is watched again until they expire.
   */
  async takeAbandonedParts(max: number): Promise<string[]> {
    const due = (await CLAIM_DUE_PARTS.run(this.redis, [this.keys.partsPending()], [Date.now(), max])) as string[];
    const abandoned: string[] = [];
    for (const id of due) {
      const ttlMs = await this.redis.pttl(this.keys.parts(id));
      // -2: the parts are gone; -1 cannot happen (they are always stored with an expiry) but is watched again.
      if (ttlMs !== -2)
        await this.redis.zadd(
          this.keys.partsPending(),
          Date.now() + (ttlMs > 0 ? ttlMs : this.options.partTtlSeconds * 1000),
          id,
        );
      else abandoned.push(id);
    }
    return abandoned;
  }

  async *readParts(id: string, count: number): AsyncIterable<Buffer> {
    for (let index = 0; index < count; index++) {
      const part = await this.redis.getBuffer(this.keys.part(id, index));
      if (part === null)
        throw permanent(
          'E_PART_MISSING',
          `part ${index} of document ${id} is gone (expired before the document was complete?)`,
        );
      yield part;
    }
  }

  async dropParts(id: string, count: number): Promise<void> {
    for (let from = 0; from < count; from += 1000) {
      const keys = Array.from({ length: Math.min(1000, count - from) }, (_, i) => this.keys.part(id, from + i));
      await this.redis.unlink(...keys);
    }
    await this.redis.unlink(this.keys.parts(id));
  }

  openTokenWriter(id: string, segmentTokens: number): TokenWriter {
    const nonce = tokenNonce();
    const keyOf = (segment: number) => this.keys.tokens(id, nonce, segment);
    let written = 0;
    const layout = (): TokenLayout => ({ nonce, segmentTokens, segments: Math.ceil(written / segmentTokens) });
    return {
      append: async (ids: Int32Array) => {
        const pipeline = this.redis.pipeline();
        for (const slice of segmentSlices(written, written + ids.length, segmentTokens)) {
          const from = slice.segment * segmentTokens + slice.from - written;
          pipeline.append(keyOf(slice.segment), int32Bytes(ids.subarray(from, from + slice.to - slice.from)));
        }
        written += ids.length;
        // Every segment so far stays alive while the attempt is going (the count is small: 16M ids per segment).
        for (let s = 0; s < layout().segments; s++) pipeline.expire(keyOf(s), PENDING_TOKENS_S);
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      },
      layout,
      discard: async () => {
        const keys = Array.from({ length: layout().segments }, (_, s) => keyOf(s));
        if (keys.length > 0) await this.redis.unlink(...keys);
      },
    };
  }

  #segmentKeys(record: DocumentRecord): string[] {
    return Array.from({ length: record.layout.segments }, (_, s) =>
      this.keys.tokens(record.id, record.layout.nonce, s),
    );
  }

  async create(record: DocumentRecord): Promise<{ created: true } | { created: false; existing: PlannedDocument }> {
    const reply = await CREATE_DOCUMENT.run(
      this.redis,
      [this.keys.record(record.id), ...this.#segmentKeys(record)],
      [JSON.stringify(record)],
    );
    if (reply === 1) return { created: true };
    if (reply === 0)
      throw permanent('E_TOKENS_EXPIRED', `the token ids of document ${record.id} expired before planning ended`);
    const [json, status] = reply as [string, string];
    return { created: false, existing: this.#planned(json, status) };
  }

  #planned(json: string, status: string): PlannedDocument {
    return { record: DocumentRecordSchema.parse(JSON.parse(json)), status: DocumentStatusSchema.parse(status) };
  }

  async get(id: string): Promise<PlannedDocument | null> {
    const [json, status] = await this.redis.hmget(this.keys.record(id), 'record', 'status');
    return json && status ? this.#planned(json, status) : null;
  }

  async readTokens(record: DocumentRecord, start: number, end: number): Promise<Int32Array> {
    const pipeline = this.redis.pipeline();
    const slices = segmentSlices(start, end, record.layout.segmentTokens);
    for (const s of slices)
      pipeline.getrangeBuffer(this.keys.tokens(record.id, record.layout.nonce, s.segment), s.from * 4, s.to * 4 - 1);
    const results = (await pipeline.exec()) ?? [];
    const parts: Buffer[] = [];
    for (const [err, value] of results) {
      if (err) throw err;
      parts.push(value as Buffer);
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== (end - start) * 4) {
      throw permanent('E_TOKENS_MISSING', `document ${record.id} has token ids missing in [${start}, ${end})`);
    }
    return int32Ids(bytes);
  }

  async complete(record: DocumentRecord, status: Exclude<DocumentStatus, 'running'>): Promise<void> {
    // The token segments first, on their own: a Redis at maxmemory refuses the status write (and a transaction
    // holding it) until something is freed, and these are the document's bulk.
    const segments = this.#segmentKeys(record);
    if (segments.length > 0) await this.redis.unlink(...segments);
    const tx = this.redis.multi();
    tx.hset(this.keys.record(record.id), 'status', status);
    tx.expire(this.keys.record(record.id), this.options.retentionSeconds);
    await tx.exec();
  }

  async reopenFailed(id: string): Promise<boolean> {
    const key = { kind: 'document', id } as const;
    const keys = [
      this.keys.record(id),
      this.keys.result('document', id),
      this.keys.sections(id),
      this.keys.audit(key),
      this.keys.checkpoint(key),
    ];
    return (await REOPEN_FAILED.run(this.redis, keys, [])) === 1;
  }
}
