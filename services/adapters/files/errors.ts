// Errors of the embedded stores. Trouble writing (a full disk, a read-only directory) is transient: the last
// good checkpoint is untouched, so the same command resumes once the cause is fixed. A damaged file stays
// damaged whatever is retried: the error names it, and the caller decides whether to start over.
import { permanent, transient, type PipelineError } from '../../../pipelines/errors.ts';

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'the file would exceed the size this process may write',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
};

/** "no space left on the device (ENOSPC)", or the error's own message for anything unusual. */
export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code]) return `${ERRNO_TEXT[code]} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

/** A write that did not happen; whatever was committed before it is still there. */
export function writeFailed(file: string, err: unknown): PipelineError {
  return transient('E_CHECKPOINT_WRITE', `cannot write ${file}: ${describeIoError(err)}`, err);
}

/** A file of a job directory that cannot be what it claims to be. */
export function damagedFile(file: string, why: string, cause?: unknown): PipelineError {
  return permanent('E_CHECKPOINT_CORRUPT', `the checkpoint file ${file} is damaged: ${why}`, cause);
}

/** A file that cannot be read for another reason than its content (permissions, a failing disk). */
export function readFailed(file: string, err: unknown): PipelineError {
  return transient('E_CHECKPOINT_READ', `cannot read ${file}: ${describeIoError(err)}`, err);
}

/** A checkpoint directory that cannot be created or written in. */
export function unusableDir(dir: string, err: unknown): PipelineError {
  return permanent('E_CHECKPOINT_DIR', `cannot use the checkpoint directory ${dir}: ${describeIoError(err)}`, err);
}
