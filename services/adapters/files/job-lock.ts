// The lock of a job directory: a file naming the process that works in it (pid, the process's start time and
// boot, host). It is created with its content complete — written to a file of its own, then hard-linked to the
// lock's name, which fails if the name exists — so no other process ever sees a lock half written, and two
// processes can never both create it.
//
// A lock is broken only when its owner is verifiably gone: same host, and no process with that pid, or one
// that started at another time (the pid was reused). A lock of this very process was left by a run of the job
// that ended without giving it back (a process runs one job at a time): it is taken back. Breakers take a second, short-lived lock (`lock.break`)
// and look again under it, so two processes that both judged a lock stale cannot remove the one a third
// has just taken.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

import { permanent } from '../../../pipelines/errors.ts';
import { removeFile, type FileOps } from './atomic-file.ts';
import { unusableDir } from './errors.ts';

export const LOCK = 'lock';
const BREAK = 'lock.break';
const NEW = /^lock\.new-(\d+)-[0-9a-f]{8}$/;

const OwnerSchema = z.strictObject({
  pid: z.number().int().positive(),
  /** When the process started ("<boot id>/<clock ticks since boot>"); null where the system does not say. */
  start: z.string().nullable(),
  host: z.string(),
});

export type LockOwner = z.infer<typeof OwnerSchema>;

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** When process `pid` started, as the system tells it (Linux: /proc/PID/stat, field 22), or null. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? `${bootId()}/${ticks}` : null;
  } catch {
    return null;
  }
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

export function currentOwner(): LockOwner {
  return { pid: process.pid, start: processStart(process.pid), host: os.hostname() };
}

/** The owner a lock file names: the current format, the older "pid host" one, or null when it names none. */
function parseOwner(text: string): LockOwner | null {
  try {
    const parsed = OwnerSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: maybe the older format
  }
  const older = /^(\d+) (\S+)\n$/.exec(text);
  return older ? { pid: Number(older[1]), start: null, host: older[2]! } : null;
}

/** Whether the owner is certainly not running any more. A lock of another host can never be judged from here. */
export function ownerGone(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return false;
  if (!isAlive(owner.pid)) return true;
  if (owner.start === null) return false;
  const now = processStart(owner.pid);
  return now !== null && now !== owner.start;
}

interface Held {
  /** Inode of the lock file read, so the file removed is the one judged. */
  ino: number;
  /** null: the file names no owner (damaged, or written before this format by a process killed mid-write). */
  owner: LockOwner | null;
}

/** The lock file's owner and inode, read through one descriptor; null when there is no lock. */
async function readHeld(file: string): Promise<Held | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const [info, text] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    return { ino: info.ino, owner: parseOwner(text) };
  } finally {
    await handle.close();
  }
}

const stale = (held: Held) => held.owner === null || ownerGone(held.owner) || isMine(held.owner);

function isMine(owner: LockOwner): boolean {
  const me = currentOwner();
  return owner.pid === me.pid && owner.start === me.start && owner.host === me.host;
}

/** Creates `file` holding `content`, all at once; false when it already exists. */
async function createWhole(ops: FileOps, dir: string, file: string, content: string): Promise<boolean> {
  const temp = path.join(dir, `lock.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await ops.open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await removeFile(ops, temp).catch(() => {});
  }
}

/** Removes `file` if it is still the very file `held` described (renamed aside first, then compared). */
async function removeIfSame(file: string, held: Held): Promise<void> {
  const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const info = await fsp.stat(aside);
  // Someone else's fresh file was moved: give it its name back (unless yet another one took it meanwhile).
  if (info.ino !== held.ino) await fsp.link(aside, file).catch(() => {});
  await fsp.unlink(aside).catch(() => {});
}

/** Removes a stale lock under the breakers' lock; returns when the caller should try to create the lock again. */
async function breakStale(ops: FileOps, dir: string, content: string): Promise<void> {
  const file = path.join(dir, LOCK);
  const breaker = path.join(dir, BREAK);
  if (!(await createWhole(ops, dir, breaker, content))) {
    // Another process is breaking it (for a moment), or died doing so.
    const other = await readHeld(breaker);
    if (other && stale(other)) await removeIfSame(breaker, other);
    else await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    return;
  }
  try {
    const held = await readHeld(file);
    if (held && stale(held)) await fsp.unlink(file);
  } finally {
    await fsp.unlink(breaker).catch(() => {});
  }
}

/** Files of lock attempts by processes killed between writing and linking them. */
async function sweepAttempts(ops: FileOps, dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const match = NEW.exec(name);
    if (match && Number(match[1]) !== process.pid && !isAlive(Number(match[1])))
      await removeFile(ops, path.join(dir, name)).catch(() => {});
  }
}

/** Takes the lock of `dir` for this process, or fails with E_JOB_BUSY naming the process that holds it. */
export async function acquireLock(ops: FileOps, dir: string): Promise<void> {
  const file = path.join(dir, LOCK);
  const content = `${JSON.stringify(currentOwner())}\n`;
  for (let attempt = 0; attempt < 50; attempt++) {
    let held: Held | null;
    try {
      if (await createWhole(ops, dir, file, content)) {
        await sweepAttempts(ops, dir);
        return;
      }
      held = await readHeld(file);
    } catch (err) {
      throw unusableDir(dir, err);
    }
    if (held === null) continue; // released between the two steps: try again
    const owner = held.owner;
    if (owner && owner.host !== os.hostname()) {
      throw permanent(
        'E_JOB_BUSY',
        `the job in ${dir} is locked by process ${owner.pid} on ${owner.host}; ` +
          `if that process is gone, delete ${file}`,
      );
    }
    if (!stale(held)) {
      throw permanent(
        'E_JOB_BUSY',
        `another rwkvstream process (pid ${owner!.pid}) is running this job in ${dir}; ` +
          'wait for it to finish or stop it first',
      );
    }
    try {
      await breakStale(ops, dir, content);
    } catch (err) {
      throw unusableDir(dir, err);
    }
  }
  throw permanent('E_JOB_BUSY', `could not take the lock ${file}: other processes keep taking it`);
}

/** Gives the lock up, if it is still this process's. */
export async function releaseLock(ops: FileOps, dir: string): Promise<void> {
  const file = path.join(dir, LOCK);
  const held = await readHeld(file).catch(() => null);
  if (held?.owner && isMine(held.owner)) {
    await removeFile(ops, file);
  }
}
