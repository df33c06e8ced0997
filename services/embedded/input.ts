// The input of an embedded job: a file, or standard input. A job is keyed by its content, so the content is
// hashed before any work starts. Standard input can be read only once, so it is first copied into a file
// under the checkpoint directory (the job keeps that copy until it is done, which is also what lets a
// resumed run of `... | rwkvstream summarize -` continue from the same bytes).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

import { permanent } from '../../pipelines/errors.ts';
import { nodeFileOps, removeFile, syncFile } from './atomic-file.ts';
import { describeIoError, writeFailed } from './errors.ts';

export interface PreparedInput {
  /** Where the bytes are read from during the job. */
  path: string;
  /** The file's base name, or "stdin". */
  source: string;
  sha256: string;
  bytes: number;
  /** Set for standard input: the copy that must move into the job's directory. */
  spooled: boolean;
}

const ID_CHARS = /[^A-Za-z0-9._@+/=-]/g;

/** A document or stream id from the input's name: the characters ids allow, starting with a letter or digit. */
export function defaultId(source: string): string {
  const cleaned = source.replace(ID_CHARS, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'input';
}

function hashing(hash: ReturnType<typeof createHash>, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

/** The SHA-256 and size of a file's content. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** `file` ("-": standard input) hashed, standard input copied to a file under `spoolDir`. */
export async function prepareInput(file: string, spoolDir: string, stdin: Readable = process.stdin): Promise<PreparedInput> {
  if (file === '-') {
    const spool = path.join(spoolDir, `stdin-${process.pid}-${randomBytes(4).toString('hex')}`);
    const hash = createHash('sha256');
    const count = { bytes: 0 };
    try {
      await pipeline(stdin, hashing(hash, count), createWriteStream(spool, { flags: 'wx' }));
    } catch (err) {
      await removeFile(nodeFileOps, spool).catch(() => {});
      throw writeFailed(spool, err);
    }
    return { path: spool, source: 'stdin', sha256: hash.digest('hex'), bytes: count.bytes, spooled: true };
  }
  const full = path.resolve(file);
  try {
    const info = await stat(full);
    if (!info.isFile()) throw permanent('E_INPUT', `${file} is not a file`);
    return { path: full, source: path.basename(full), ...(await hashFile(full)), spooled: false };
  } catch (err) {
    if ((err as { code?: string }).code === 'E_INPUT') throw err;
    throw permanent('E_INPUT', `cannot read ${file}: ${describeIoError(err)}`, err);
  }
}

/**
 * Moves a standard-input copy into the job's directory, unless an earlier run of the job left one there (the
 * same bytes: the job's key is their hash). Returns the path the job reads.
 */
export async function adoptSpool(input: PreparedInput, target: string): Promise<string> {
  if (!input.spooled) return input.path;
  try {
    await stat(target);
    await removeFile(nodeFileOps, input.path);
    return target;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailed(target, err);
  }
  // Flushed first: a resumed scan reads it again and must find the same lines.
  await syncFile(nodeFileOps, input.path);
  try {
    await rename(input.path, target);
  } catch (err) {
    throw writeFailed(target, err);
  }
  return target;
}
