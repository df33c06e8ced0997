// The input of an embedded job: a file, or standard input. A job is keyed by its content, so the content is
// hashed before any work starts. Standard input (or a pipe) can be read only once, so it is first copied into a
// file under the checkpoint directory (the job keeps that copy until it is done, which is also what lets a
// resumed run of `... | rwkvstream summarize -` continue from the same bytes).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { permanent } from '../../pipelines/errors.ts';
import { nodeFileOps, removeFile, syncFile } from '../adapters/files/atomic-file.ts';
import { describeIoError, writeFailed } from '../adapters/files/errors.ts';
import { isAlive } from '../adapters/files/job-dir.ts';

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
  const cleaned = source
    .replace(ID_CHARS, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 200);
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

const SPOOL = /^stdin-(\d+)-[0-9a-f]{8}$/;

/** Where this process copies standard input, under `dir`. */
export function spoolPath(dir: string): string {
  return path.join(dir, `stdin-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Copies of standard input left by processes killed while they read it. */
export async function sweepStaleSpools(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = SPOOL.exec(name);
    if (match && !isAlive(Number(match[1]))) await removeFile(nodeFileOps, path.join(dir, name)).catch(() => {});
  }
}

/** Copies a stream that can be read only once into `spool`, hashing it on the way. */
async function spoolStream(stream: Readable, spool: string, source: string): Promise<PreparedInput> {
  const hash = createHash('sha256');
  const count = { bytes: 0 };
  try {
    await pipeline(stream, hashing(hash, count), createWriteStream(spool, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    await removeFile(nodeFileOps, spool).catch(() => {});
    throw writeFailed(spool, err);
  }
  return { path: spool, source, sha256: hash.digest('hex'), bytes: count.bytes, spooled: true };
}

/**
 * `file` ("-": standard input) hashed. Standard input, and a pipe given by name (`<(command)`), are copied to
 * `spool` on the way: they cannot be read a second time.
 */
export async function prepareInput(
  file: string,
  spool: string,
  stdin: Readable = process.stdin,
): Promise<PreparedInput> {
  if (file === '-') return spoolStream(stdin, spool, 'stdin');
  const full = path.resolve(file);
  let info;
  try {
    info = await stat(full);
  } catch (err) {
    throw permanent('E_INPUT', `cannot read ${file}: ${describeIoError(err)}`, err);
  }
  const source = path.basename(full);
  if (info.isFIFO() || info.isCharacterDevice()) return spoolStream(createReadStream(full), spool, source);
  if (!info.isFile()) throw permanent('E_INPUT', `${file} is not a file`);
  try {
    return { path: full, source, ...(await hashFile(full)), spooled: false };
  } catch (err) {
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
