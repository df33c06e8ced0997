// Files that are either the old version or the new one, never a mix: the new content goes to a temporary file
// beside the target, is flushed to the disk (fsync), and is renamed over the target; then the directory is
// flushed so the rename itself survives a power cut. When any step fails the temporary file is removed and
// the target keeps its previous content, so a full disk can cost the write in progress but never a
// checkpoint that was already there.
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';

import { damagedFile, readFailed, writeFailed } from './errors.ts';

export interface WritableFile {
  writeFile(data: Uint8Array | string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The writing operations of the stores, so tests can put a disk that fails behind them. */
export interface FileOps {
  open(file: string, flags: 'wx' | 'a' | 'r'): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
}

/** Files are created readable by their owner only: they hold the document's tokens and state. */
export const nodeFileOps: FileOps = {
  open: (file, flags) => fsp.open(file, flags, 0o600),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
};

/** Makes the directory entries (creations, renames, removals) in `dir` durable. */
export async function syncDir(ops: FileOps, dir: string): Promise<void> {
  let handle: WritableFile | undefined;
  try {
    handle = await ops.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some file systems cannot fsync a directory; their renames are as durable as they get without it.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw writeFailed(dir, err);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Replaces `file` with `data` atomically and durably (see above). */
export async function writeAtomic(ops: FileOps, file: string, data: Uint8Array | string): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  let handle: WritableFile | undefined;
  try {
    handle = await ops.open(temp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await ops.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await ops.unlink(temp).catch(() => {});
    throw writeFailed(file, err);
  }
  await syncDir(ops, path.dirname(file));
}

/** Appends `data` and flushes it to the disk before returning. */
export async function appendDurably(ops: FileOps, file: string, data: Uint8Array | string): Promise<void> {
  let handle: WritableFile | undefined;
  try {
    handle = await ops.open(file, 'a');
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    throw writeFailed(file, err);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Flushes a file written earlier without syncing (token ids), before a record that points at it is written. */
export async function syncFile(ops: FileOps, file: string): Promise<void> {
  let handle: WritableFile | undefined;
  try {
    handle = await ops.open(file, 'r');
    await handle.sync();
  } catch (err) {
    throw writeFailed(file, err);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Removes a file that may not exist. */
export async function removeFile(ops: FileOps, file: string): Promise<void> {
  try {
    await ops.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailed(file, err);
  }
}

/** The bytes of `file`, or null when it does not exist. */
export async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw readFailed(file, err);
  }
}

/** A JSON file read through its schema; null when it does not exist; refused by name when it is damaged. */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S> | null> {
  const bytes = await readOptional(file);
  if (bytes === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw damagedFile(file, bytes.length === 0 ? 'it is empty' : 'it is not valid JSON', err);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw damagedFile(file, `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}

/** Temporary files of writes that never completed (the process was killed between open and rename). */
export async function sweepTemporaryFiles(ops: FileOps, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    throw readFailed(dir, err);
  }
  for (const name of names) {
    if (/\.tmp-[0-9a-f]{8}$/.test(name)) await removeFile(ops, path.join(dir, name)).catch(() => {});
  }
}
