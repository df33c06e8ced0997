// StateStore in a local directory. Per state: a head file (the committed checkpoint: version, chunk, tokens,
// cursor, outbox, and the name and SHA-256 of its blob) and the blob file it names. A commit writes the new
// blob under a new name, then replaces the head — both atomically (atomic-file.ts) — so the head is the
// commit point: a crash or a failed write at any step leaves the previous head and the blob it names intact.
// Blobs no head names (an interrupted commit) are removed when the store is opened.
//
// Fencing is kept as the port defines it (a commit names the version it started from), although one process
// at a time works in a job directory (job-dir.ts): heads are cached in memory, and the cache is the truth
// because nothing else writes them.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import type { CheckpointHead, CheckpointWrite, CommitOutcome, StateKey, StateStore } from '../../../pipelines/ports.ts';
import { EMBEDDED_FORMAT, HeadFileSchema, type HeadFile } from '../../../schemas/embedded.ts';
import { nodeFileOps, readJsonFile, readOptional, removeFile, writeAtomic, type FileOps } from './atomic-file.ts';
import { damagedFile, readFailed } from './errors.ts';
import { stateName } from './names.ts';

const HEAD_SUFFIX = '.head.json';
const BLOB = /^(.+)\.v\d+\.state$/;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function toPort(head: HeadFile): CheckpointHead {
  return {
    version: head.version,
    chunk: head.chunk,
    tokens: head.tokens,
    cursor: head.cursor,
    bytes: head.bytes,
    ref: head.blob,
    result: head.result,
    published: head.published,
  };
}

export class FileStateStore implements StateStore {
  readonly #dir: string;
  readonly #ops: FileOps;
  /** Heads read or written by this process; null: the state has no checkpoint. */
  readonly #heads = new Map<string, HeadFile | null>();

  private constructor(dir: string, ops: FileOps) {
    this.#dir = dir;
    this.#ops = ops;
  }

  static async open(dir: string, ops: FileOps = nodeFileOps): Promise<FileStateStore> {
    const store = new FileStateStore(dir, ops);
    await store.#sweep();
    return store;
  }

  #headFile(key: StateKey): string {
    return path.join(this.#dir, `${stateName(key)}${HEAD_SUFFIX}`);
  }

  async #read(key: StateKey): Promise<HeadFile | null> {
    const name = stateName(key);
    if (this.#heads.has(name)) return this.#heads.get(name)!;
    const file = this.#headFile(key);
    const head = await readJsonFile(file, HeadFileSchema);
    if (head && (head.kind !== key.kind || head.id !== key.id)) {
      throw damagedFile(file, `it holds the checkpoint of ${head.kind} ${head.id}, not of ${key.kind} ${key.id}`);
    }
    this.#heads.set(name, head);
    return head;
  }

  async head(key: StateKey): Promise<CheckpointHead | null> {
    const head = await this.#read(key);
    return head ? toPort(head) : null;
  }

  async blob(key: StateKey, head: CheckpointHead): Promise<Buffer | null> {
    const current = await this.#read(key);
    if (!current || current.version !== head.version) return null;
    const file = path.join(this.#dir, current.blob);
    const bytes = await readOptional(file);
    if (bytes === null) throw damagedFile(this.#headFile(key), `the state file it names, ${file}, is missing`);
    if (bytes.length !== current.bytes || sha256(bytes) !== current.sha256) {
      throw damagedFile(file, `its content does not match the checksum recorded in ${this.#headFile(key)}`);
    }
    return bytes;
  }

  async commit(key: StateKey, expectedVersion: number, write: CheckpointWrite): Promise<CommitOutcome> {
    const current = await this.#read(key);
    const version = current?.version ?? 0;
    if (version !== expectedVersion) return { ok: false, current: version };
    const next: HeadFile = {
      format: EMBEDDED_FORMAT,
      kind: key.kind,
      id: key.id,
      version: version + 1,
      chunk: write.chunk,
      tokens: write.tokens,
      cursor: write.cursor,
      bytes: write.blob.byteLength,
      blob: `${stateName(key)}.v${version + 1}.state`,
      sha256: sha256(write.blob),
      result: write.result,
      published: write.result === null,
      writer: write.writer,
    };
    await writeAtomic(this.#ops, path.join(this.#dir, next.blob), write.blob);
    await this.#writeHead(key, next);
    // The old blob is no longer named by anything; one left behind by a failure here is swept at the next open.
    if (current) await removeFile(this.#ops, path.join(this.#dir, current.blob)).catch(() => {});
    return { ok: true, version: next.version };
  }

  async #writeHead(key: StateKey, head: HeadFile): Promise<void> {
    try {
      await writeAtomic(this.#ops, this.#headFile(key), `${JSON.stringify(head)}\n`);
    } catch (err) {
      // Whether the replacement reached the disk is unknown (the rename may have happened before a later step
      // failed): the next read goes to the file.
      this.#heads.delete(stateName(key));
      throw err;
    }
    this.#heads.set(stateName(key), head);
  }

  async markPublished(key: StateKey, version: number): Promise<void> {
    const current = await this.#read(key);
    if (!current || current.version !== version || current.published) return;
    await this.#writeHead(key, { ...current, published: true });
  }

  async drop(key: StateKey): Promise<void> {
    const current = await this.#read(key);
    if (!current) return;
    // The head first: a crash in between leaves a blob nothing names, which the next open sweeps.
    await removeFile(this.#ops, this.#headFile(key));
    this.#heads.set(stateName(key), null);
    await removeFile(this.#ops, path.join(this.#dir, current.blob)).catch(() => {});
  }

  /** Removes blobs no head names: written by a commit that did not complete, or left by a dropped state. */
  async #sweep(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      throw readFailed(this.#dir, err);
    }
    const present = new Set(names);
    for (const name of names) {
      const match = BLOB.exec(name);
      if (!match) continue;
      const headName = `${match[1]}${HEAD_SUFFIX}`;
      let named: string | null = null;
      if (present.has(headName)) {
        // A damaged head keeps its blobs: the run stops on the damage, and nothing is lost that could help.
        const head = await readJsonFile(path.join(this.#dir, headName), HeadFileSchema).catch(() => undefined);
        if (head === undefined) continue;
        named = head?.blob ?? null;
      }
      if (named !== name) await removeFile(this.#ops, path.join(this.#dir, name)).catch(() => {});
    }
  }
}
