// One job's checkpoint directory: <checkpoint dir>/<key>/, where the key is a hash of everything the result
// depends on (the input's content, the task and its options, the chunk size, the model and tokenizer
// fingerprints, the weight type and device). Running the same command again finds the same directory and
// resumes; any other command gets another directory, so it can never continue a state that is not its own.
//
// A lock file names the process working in the directory (job-lock.ts): two processes never write one job's
// checkpoints at once, and the lock of a process that was killed is recognised and taken over.
//
// The directory and its files hold the document's tokens and state: the directory is private to the user
// (0700) and its files are created 0600.
import { createHash } from 'node:crypto';
import { chmod, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { JobDescriptionSchema, type JobDescription } from '../../../schemas/embedded.ts';
import { nodeFileOps, readJsonFile, writeAtomic, type FileOps } from './atomic-file.ts';
import { damagedFile, unusableDir, writeFailed } from './errors.ts';
import { LOCK, acquireLock, releaseLock } from './job-lock.ts';
import { makePrivateDir } from './private-dir.ts';

export { isAlive } from './job-lock.ts';

const DESCRIPTION = 'job.json';

/** The directory name of a job: 128 bits of a SHA-256 over its description. */
export function jobKey(description: JobDescription): string {
  const canonical = JSON.stringify(JobDescriptionSchema.parse(description));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export interface OpenJobOptions {
  /** Discard whatever the directory holds and start the job over. */
  restart?: boolean;
  ops?: FileOps;
}

export class JobDir {
  readonly #ops: FileOps;
  #locked = true;

  private constructor(
    readonly path: string,
    readonly description: JobDescription,
    ops: FileOps,
  ) {
    this.#ops = ops;
  }

  /** Creates or reopens the job's directory under `root` and takes its lock. */
  static async open(root: string, description: JobDescription, options: OpenJobOptions = {}): Promise<JobDir> {
    const ops = options.ops ?? nodeFileOps;
    const dir = path.join(root, jobKey(description));
    try {
      await makePrivateDir(dir);
      // A directory made by an older version (0755) becomes private too.
      await chmod(dir, 0o700);
    } catch (err) {
      throw unusableDir(root, err);
    }
    await acquireLock(ops, dir);
    const job = new JobDir(dir, description, ops);
    try {
      if (options.restart) await job.#clear();
      await job.#describe();
    } catch (err) {
      await job.release();
      throw err;
    }
    return job;
  }

  file(name: string): string {
    return path.join(this.path, name);
  }

  /** job.json says what the directory holds (for people looking at it, and as a check of the key). */
  async #describe(): Promise<void> {
    const file = this.file(DESCRIPTION);
    const wanted = JSON.stringify(JobDescriptionSchema.parse(this.description));
    const existing = await readJsonFile(file, JobDescriptionSchema);
    if (existing === null) {
      await writeAtomic(this.#ops, file, `${wanted}\n`);
    } else if (JSON.stringify(existing) !== wanted) {
      throw damagedFile(file, 'it describes another job than the one its directory name stands for');
    }
  }

  /** Everything but the lock (and the files of other processes' attempts at it). */
  async #clear(): Promise<void> {
    try {
      for (const name of await readdir(this.path)) {
        if (!name.startsWith(LOCK)) await rm(this.file(name), { recursive: true, force: true });
      }
    } catch (err) {
      throw writeFailed(this.path, err);
    }
  }

  /** Gives up the lock, leaving the checkpoints for the next run. */
  async release(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await releaseLock(this.#ops, this.path).catch(() => {});
  }

  /** Deletes the directory: the job is done and its result was delivered. */
  async remove(): Promise<void> {
    this.#locked = false;
    try {
      await rm(this.path, { recursive: true, force: true });
    } catch (err) {
      throw writeFailed(this.path, err);
    }
  }
}
