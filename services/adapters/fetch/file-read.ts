// Reads a file:// reference, but only a regular file under one of the configured roots. The file is opened
// first and the opened file is what is judged (its real path through /proc/self/fd, its type by fstat), so a
// symlink swapped in between a check and the open cannot lead the worker out of the roots. Opening never
// blocks or takes a terminal (O_NONBLOCK, O_NOCTTY): a FIFO or a device is refused, not waited on.
// Errors about a path outside the roots, or that leads out of them, are all the same sentence: a message
// must not learn through the worker which paths exist elsewhere on its machine.
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { permanent, transient, type PipelineError } from '../../../pipelines/errors.ts';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Configured roots, as given (resolved) and as their real paths, so both spellings of a root are inside it. */
export interface FileRoots {
  given: string[];
  real: string[];
}

export async function resolveRoots(roots: readonly string[]): Promise<FileRoots> {
  const given = roots.map((root) => path.resolve(root));
  const real = await Promise.all(given.map((root) => realpath(root).catch(() => root)));
  return { given, real };
}

function under(file: string, roots: readonly string[]): boolean {
  return roots.some((root) => file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}

function outside(url: URL): PipelineError {
  return permanent('E_REF_FORBIDDEN', `${url.href} is outside the directories this worker may read`);
}

function notRegular(url: URL, what: string): PipelineError {
  return permanent('E_REF_FORBIDDEN', `${url.href} is ${what}, not a regular file; only regular files are read`);
}

/** The real path of an open file: what the descriptor refers to, whatever happened to the name since. */
async function openedPath(handle: FileHandle, name: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    // No /proc: the name's real path, accepted only if it is still the very file that was opened.
    const real = await realpath(name);
    const [now, opened] = await Promise.all([stat(real), handle.stat()]);
    if (now.dev !== opened.dev || now.ino !== opened.ino) throw new Error('the file changed while it was opened');
    return real;
  }
}

function kind(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Why `name` could not be opened, told only when the name is plainly inside a root (its directory's real path
 * is, and the name itself is not a link): otherwise the one "outside" refusal.
 */
async function openFailure(url: URL, name: string, roots: FileRoots, err: unknown): Promise<PipelineError> {
  const parent = await realpath(path.dirname(name)).catch(() => null);
  if (parent === null || !under(parent, roots.real)) return outside(url);
  const entry = await lstat(name).catch(() => null);
  if (entry?.isSymbolicLink()) return outside(url);
  const code = (err as NodeJS.ErrnoException).code;
  if (entry === null || code === 'ENOENT')
    return permanent('E_REF_NOT_FOUND', `cannot read ${url.href}: no such file (ENOENT)`);
  if (!entry.isFile()) return notRegular(url, kind(entry));
  if (code === 'EACCES' || code === 'EPERM')
    return permanent('E_REF_NOT_FOUND', `cannot read ${url.href}: permission denied (${code})`);
  return transient('E_REF_READ', `cannot read ${url.href} (${code ?? 'error'})`, err);
}

/** Opens a file:// URL for reading if it is a regular file under the roots (see above). */
export async function openUnderRoots(url: URL, roots: FileRoots): Promise<FileHandle> {
  let name: string;
  try {
    name = fileURLToPath(url);
  } catch {
    throw permanent('E_REF', `not a usable file URL: ${url.href}`);
  }
  // Judged on the name alone first: nothing outside the roots is ever touched.
  if (!under(name, roots.given) && !under(name, roots.real)) throw outside(url);
  let handle: FileHandle;
  try {
    handle = await open(name, OPEN_FLAGS);
  } catch (err) {
    throw await openFailure(url, name, roots, err);
  }
  try {
    const real = await openedPath(handle, name).catch(() => null);
    if (real === null || !under(real, roots.real)) throw outside(url);
    const info = await handle.stat();
    if (!info.isFile()) {
      if (info.isDirectory()) throw permanent('E_REF_NOT_FOUND', `cannot read ${url.href}: it is a directory (EISDIR)`);
      throw notRegular(url, kind(info));
    }
    return handle;
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/** The bytes of a file opened by `openUnderRoots`, read as a stream; the file is closed at the end. */
export async function* readOpened(handle: FileHandle, url: URL): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }))
      yield chunk as Buffer;
  } catch (err) {
    throw transient(
      'E_REF_READ',
      `reading ${url.href} failed (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      err,
    );
  } finally {
    await handle.close().catch(() => {});
  }
}
