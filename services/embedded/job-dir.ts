// One job's checkpoint directory: <checkpoint dir>/<key>/, where the key is a hash of everything the result
// depends on (the input's content, the task and its options, the chunk size, the model and tokenizer
// fingerprints, the weight type and device). Running the same command again finds the same directory and
// resumes; any other command gets another directory, so it can never continue a state that is not its own.
//
// A lock file holds the id of the process working in the directory: two processes never write one job's
// checkpoints at once, and the lock of a process that was killed is recognised and taken over.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { permanent } from '../../pipelines/errors.ts';
import { JobDescriptionSchema, type JobDescription } from '../../schemas/embedded.ts';
import { nodeFileOps, readJsonFile, readOptional, removeFile, writeAtomic, type FileOps } from './atomic-file.ts';
import { damagedFile, unusableDir, writeFailed } from './errors.ts';

const LOCK = 'lock';
const DESCRIPTION = 'job.json';

/** The directory name of a job: 128 bits of a SHA-256 over its description. */
export function jobKey(description: JobDescription): string {
  const canonical = JSON.stringify(JobDescriptionSchema.parse(description));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** Whether a process with this id runs on this machine. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockHolder {
  pid: number;
  host: string;
}

function parseLock(text: string): LockHolder | null {
  const match = /^(\d+) (\S+)\n$/.exec(text);
  return match ? { pid: Number(match[1]), host: match[2]! } : null;
}

async function acquireLock(ops: FileOps, dir: string): Promise<void> {
  const file = path.join(dir, LOCK);
  const me = `${process.pid} ${os.hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await ops.open(file, 'wx');
      try {
        await handle.writeFile(me);
      } finally {
        await handle.close();
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unusableDir(dir, err);
    }
    // A lock without a readable holder was left by a process killed while it wrote the lock: stale.
    const holder = parseLock((await readOptional(file))?.toString('utf8') ?? '');
    if (holder && holder.host !== os.hostname()) {
      throw permanent('E_JOB_BUSY', `the job in ${dir} is locked by process ${holder.pid} on ${holder.host}; ` +
        `if that process is gone, delete ${file}`);
    }
    if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
      throw permanent('E_JOB_BUSY', `another rwkvstream process (pid ${holder.pid}) is running this job in ${dir}; ` +
        'wait for it to finish or stop it first');
    }
    await removeFile(ops, file);
  }
  throw permanent('E_JOB_BUSY', `could not take the lock ${file}: other processes keep taking it`);
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
      await mkdir(dir, { recursive: true });
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

  /** Everything but the lock. */
  async #clear(): Promise<void> {
    try {
      for (const name of await readdir(this.path)) {
        if (name !== LOCK) await rm(this.file(name), { recursive: true, force: true });
      }
    } catch (err) {
      throw writeFailed(this.path, err);
    }
  }

  /** Gives up the lock, leaving the checkpoints for the next run. */
  async release(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await removeFile(this.#ops, this.file(LOCK)).catch(() => {});
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
